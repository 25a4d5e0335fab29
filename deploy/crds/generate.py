#!/usr/bin/env python3
"""Writes the CRDs of deploy/crds/ (podfence's kinds, and Tetragon's for clusters
without Tetragon under optional/). The committed YAML is this script's output:
edit here, run `python3 deploy/crds/generate.py`, commit both
(tests/integration/test_deploy.sh fails when they differ).

The schemas follow src/lib/policy_yaml.c: every field it accepts, typed; enums
where it accepts a fixed set. PolicyProposal, which the agents write and
nothing reads back into enforcement, follows what the agents write
(docs/kubernetes.md, "Learning"). What a schema cannot say (value spelling, the
3 conditions of a selector across matchArgs + matchBinaries, parameters used)
the agent checks and reports in `podfence status`.
"""
import copy
import json
import os
import sys

import yaml

# generate.py [DIR]: into DIR (and DIR/optional) instead of deploy/crds (the test's drift check)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(OUT, "optional"), exist_ok=True)

def s(desc=None, **kw):
    d = {"type": "string"}
    if desc: d["description"] = desc
    d.update(kw); return d
def arr(items, desc=None, **kw):
    d = {"type": "array", "items": items}
    if desc: d["description"] = desc
    d.update(kw); return d
def obj(props, desc=None, required=None, **kw):
    d = {"type": "object"}
    if desc: d["description"] = desc
    if required: d["required"] = required
    d["properties"] = props
    d.update(kw); return d

strs = lambda desc=None, **kw: arr(s(), desc, **kw)

label_selector = lambda desc: obj({
    "matchLabels": {"type": "object", "description": "label key -> value; all must hold",
                    "additionalProperties": s()},
    "matchExpressions": arr(obj({
        "key": s(minLength=1),
        "operator": s(enum=["In", "NotIn", "Exists", "DoesNotExist"]),
        "values": strs("In, NotIn: at least one value; Exists, DoesNotExist: none"),
    }, required=["key", "operator"]), "ANDed with matchLabels and with each other"),
}, desc)

def match_args(template):
    p = {
        "index": {"type": "integer", "minimum": 0, "maximum": 1,
                  "description": "exec: 0, the executed file; connect hooks: the sock, socket "
                                 "or sockaddr argument (declared in args)"},
        "operator": s(enum=["Equal", "NotEqual", "Prefix", "NotPrefix", "Postfix", "NotPostfix",
                            "DAddr", "NotDAddr", "DPort", "NotDPort", "SAddr", "NotSAddr",
                            "SPort", "NotSPort", "Family", "Protocol"]),
        "values": strs("exec: resolved paths as the kernel reports them (docs/policy.md 2.4); "
                       "connect hooks: CIDRs, ports or ranges, families, protocols (section 9)"),
    }
    if template:
        p["valuesFrom"] = s("a parameter of the template: its values are added to values", minLength=1)
    return arr(obj(p, required=["operator"]), "conditions on the hook's argument", maxItems=6)

def match_binaries(template):
    p = {
        "operator": s(enum=["In", "NotIn", "Prefix", "NotPrefix", "Postfix", "NotPostfix"]),
        "values": strs("resolved paths of the calling binary"),
    }
    if template:
        p["valuesFrom"] = s("a parameter of the template: its values are added to values", minLength=1)
    return arr(obj(p, required=["operator"]), "conditions on the calling binary", maxItems=3)

match_actions = arr(obj({
    "action": s(enum=["Override", "Sigkill", "Post", "NoPost"]),
    "argError": {"type": "integer", "minimum": -255, "maximum": -1,
                 "description": "Override: the errno of the refused exec, negative (-1 = EPERM)"},
    "rateLimit": s("accepted and ignored (warning)"),
    "rateLimitScope": s("accepted and ignored (warning)"),
    "imaHash": {"type": "boolean", "description": "accepted and ignored (warning)"},
    "kernelStackTrace": {"type": "boolean", "description": "accepted and ignored (warning)"},
    "userStackTrace": {"type": "boolean", "description": "accepted and ignored (warning)"},
}, required=["action"]), "what a matching selector does (default: Post)")

def selectors(template):
    return arr(obj({
        "matchArgs": match_args(template),
        "matchBinaries": match_binaries(template),
        "matchActions": match_actions,
    }), "ORed, first match acts; conditions within a selector are ANDed (3 at most in all)",
        maxItems=5)

args = arr(obj({
    "index": {"type": "integer", "minimum": 0, "maximum": 1},
    "type": s(enum=["linux_binprm", "file", "sock", "socket", "sockaddr"]),
    "label": s(),
}, required=["type"]), "exec: argument 0, the executed file; connect hooks: the socket and "
    "the destination (sockaddr)", maxItems=2)

def hooks(template):
    common = {"args": copy.deepcopy(args), "selectors": selectors(template), "message": s(), "tags": strs()}
    kp = dict(call=s(enum=["security_bprm_creds_for_exec", "security_bprm_check", "tcp_connect",
                           "security_socket_connect"]),
              syscall={"type": "boolean", "description": "false (or omitted): a kernel function"},
              **common)
    lsm = dict(hook=s(enum=["bprm_check_security", "bprm_creds_for_exec", "socket_connect"]),
               **copy.deepcopy(common))
    return (arr(obj(kp, required=["call"]), "exec and connect hooks, TracingPolicy syntax"),
            arr(obj(lsm, required=["hook"]), "exec and connect hooks, TracingPolicy syntax"))

def crd(group, kind, plural, singular, scope, schema, columns, short=None, categories=None, desc=""):
    names = {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": singular}
    if short: names["shortNames"] = short
    if categories: names["categories"] = categories
    root = {"type": "object", "description": desc, "required": ["spec"], "properties": {
        "apiVersion": s(), "kind": s(), "metadata": {"type": "object"}, "spec": schema,
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                   "description": "not written by podfence; kept for tools that add one"}}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.%s" % (plural, group)},
            "spec": {"group": group, "scope": scope, "names": names, "versions": [{
                "name": "v1alpha1", "served": True, "storage": True,
                "additionalPrinterColumns": columns + [
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                "schema": {"openAPIV3Schema": root}}]}}

kp_t, lsm_t = hooks(True)
template_spec = obj({
    "mode": s("enforce (default) or monitor", enum=["enforce", "monitor"]),
    "parameters": arr(obj({"name": s(minLength=1), "description": s()}, required=["name"]),
                      "the open values, given by each PolicyBinding",
                      **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}),
    "kprobes": kp_t, "lsmhooks": lsm_t,
}, "a rule whose values are left open (docs/policy.md section 3)", required=["parameters"])

binding_spec = obj({
    "templateRef": s("the name of a PolicyTemplate (cluster-scoped)", minLength=1),
    "podSelector": label_selector("pods of the binding's namespace; omitted (and no targetRef): every pod of the namespace"),
    "targetRef": obj({
        "apiVersion": s("e.g. apps/v1, batch/v1 (optional)"),
        "kind": s(enum=["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod"]),
        "name": s(minLength=1),
    }, "the workload of the binding's namespace whose pods it selects; instead of podSelector",
        required=["kind", "name"]),
    "containers": strs("container names; omitted: every container"),
    "values": {"type": "object", "description": "parameter -> its values (a list, may be empty); {} allowed",
               "additionalProperties": strs()},
}, "names a template, selects pods, gives the values (docs/policy.md section 4); "
   "podSelector and targetRef exclude each other",
    required=["templateRef", "values"])
binding_spec["not"] = {"required": ["podSelector", "targetRef"]}
binding_spec["properties"]["containers"]["items"] = s(minLength=1)

pf_cols_t = [{"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
             {"name": "Parameters", "type": "string", "jsonPath": ".spec.parameters[*].name"}]
pf_cols_b = [{"name": "Template", "type": "string", "jsonPath": ".spec.templateRef"},
             {"name": "Target", "type": "string", "jsonPath": ".spec.targetRef.name",
              "description": "the workload (targetRef)"},
             {"name": "Selector", "type": "string", "jsonPath": ".spec.podSelector",
              "description": "the pods (podSelector)"},
             {"name": "Containers", "type": "string", "jsonPath": ".spec.containers", "priority": 1}]

HDR = """# podfence.io/v1alpha1 %s (docs/policy.md). A structural schema of every field
# podfence's reader accepts (src/lib/policy_yaml.c); the agent checks the rest (limits,
# value spelling, parameters used) and reports a refused object in `podfence status`.
"""
def dump(path, header, doc):
    with open(path, "w") as f:
        f.write(header)
        doc = json.loads(json.dumps(doc))
        yaml.safe_dump(doc, f, sort_keys=False, width=100)

dump(os.path.join(OUT, "podfence.io_policytemplates.yaml"), HDR % "PolicyTemplate",
     crd("podfence.io", "PolicyTemplate", "policytemplates", "policytemplate", "Cluster",
         template_spec, pf_cols_t, short=["pft"], categories=["podfence"],
         desc="An exec rule whose values are left open as named parameters. Cluster-scoped."))
dump(os.path.join(OUT, "podfence.io_policybindings.yaml"), HDR % "PolicyBinding",
     crd("podfence.io", "PolicyBinding", "policybindings", "policybinding", "Namespaced",
         binding_spec, pf_cols_b, short=["pfb"], categories=["podfence"],
         desc="Binds a PolicyTemplate to pods of its namespace with values for its parameters."))

# PolicyProposal: what each node's agent saw a workload execute. Agents on several nodes
# write one object with JSON merge patches, each owning spec.nodes.<its node>: maps
# (additionalProperties) merge key by key, so nodes and containers are maps; lists are
# replaced whole by their node's writer.
workload_kinds = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod"]
date_time = lambda desc: s(desc, format="date-time")
def finding(temporary=False):
    p = {
        "path": s("the executed file, resolved as the kernel reports it", minLength=1),
        "firstSeen": date_time("first exec seen by this node"),
        "lastSeen": date_time("last exec seen by this node"),
        "pods": {"type": "integer", "minimum": 0, "description": "pods of the workload that executed it"},
        "execs": {"type": "integer", "minimum": 0, "description": "execs seen"},
        "callers": strs("resolved paths of the calling binaries"),
        "entrypoint": {"type": "boolean", "description": "a container's first exec"},
        "seeded": {"type": "boolean", "description": "found in /proc when learning started"},
    }
    if temporary:
        p["suggestedPrefix"] = s("a prefix that covers this file and its kind (e.g. /tmp/tmp.)")
    return obj(p, required=["path", "firstSeen", "lastSeen", "pods", "execs"])
findings = lambda desc, temporary=False: arr(finding(temporary), desc)
container_findings = obj({
    "execs": findings("files executed"),
    "sessions": findings("files executed in sessions entered later (kubectl exec)"),
    "temporary": findings("files executed from temporary, writable places", temporary=True),
    "outsideView": findings("execs outside the container's view of the filesystem"),
    "egress": findings("destinations connected or sent to: path is tcp://ADDR:PORT, "
                       "udp://[IPV6]:PORT; execs counts the calls"),
}, "what one container executed, and where it connected")
node_findings = obj({
    "updated": date_time("when this node's agent wrote its entry"),
    "containers": {"type": "object", "description": "container name -> its findings",
                   "additionalProperties": container_findings},
}, "one node's findings, written by that node's agent only", required=["updated", "containers"])
proposal_spec = obj({
    "targetRef": obj({"kind": s(enum=workload_kinds), "name": s(minLength=1)},
                     "the workload of the proposal's namespace", required=["kind", "name"]),
    "nodes": {"type": "object", "description": "node name -> that node's findings (each agent "
              "merge-patches its own key)", "additionalProperties": node_findings},
}, "a workload's execs as the agents learnt them: input for a PolicyBinding, never enforced",
    required=["targetRef"])
pf_cols_p = [{"name": "Kind", "type": "string", "jsonPath": ".spec.targetRef.kind",
              "description": "the workload's kind (targetRef)"},
             {"name": "Target", "type": "string", "jsonPath": ".spec.targetRef.name",
              "description": "the workload (targetRef)"}]
PP_HDR = """# podfence.io/v1alpha1 PolicyProposal (docs/kubernetes.md, "Learning"). Written by the agents,
# one object per workload: each node's agent merge-patches its own spec.nodes.<node>; read
# by people and tools proposing a policy, never by the agent's enforcement.
"""
dump(os.path.join(OUT, "podfence.io_policyproposals.yaml"), PP_HDR,
     crd("podfence.io", "PolicyProposal", "policyproposals", "policyproposal", "Namespaced",
         proposal_spec, pf_cols_p, short=["pp"], categories=["podfence"],
         desc="What the agents saw a workload execute, one entry per node. Namespaced."))

# Tetragon's kinds: the exec subset podfence reads, the rest preserved (the agent reports it).
kp, lsm = copy.deepcopy(hooks(False))
for h in (kp, lsm):
    h["items"]["x-kubernetes-preserve-unknown-fields"] = True
    for k in ("call", "hook"):
        if k in h["items"]["properties"]:
            h["items"]["properties"][k] = s("podfence enforces " + " and ".join(h["items"]["properties"][k]["enum"]))
    h["items"]["properties"]["args"]["items"]["properties"]["type"] = s(
        "podfence: linux_binprm or file (exec), sock, socket or sockaddr (connect hooks)")
    h["items"]["properties"]["args"]["items"]["properties"]["index"] = {"type": "integer", "minimum": 0}
    h["items"]["properties"]["args"]["items"]["x-kubernetes-preserve-unknown-fields"] = True
    h["items"]["properties"]["args"].pop("maxItems")
    sel = h["items"]["properties"]["selectors"]
    sel["items"]["x-kubernetes-preserve-unknown-fields"] = True
    sel.pop("maxItems")
    for m in ("matchArgs", "matchBinaries", "matchActions"):
        it = sel["items"]["properties"][m]
        it.pop("maxItems", None)
        it["items"]["x-kubernetes-preserve-unknown-fields"] = True
        it["items"]["properties"]["operator" if m != "matchActions" else "action"] = s()
        if m == "matchArgs":
            it["items"]["properties"]["index"] = {"type": "integer", "minimum": 0}
        if m == "matchActions":
            it["items"]["properties"]["argError"] = {"type": "integer"}
tp_spec = obj({
    "podSelector": label_selector("pods (omitted: every pod)"),
    "containerSelector": label_selector("containers by name (podfence: name In [...])"),
    "options": arr(obj({"name": s(), "value": s()}, required=["name"])),
    "kprobes": kp, "lsmhooks": lsm,
}, "Tetragon's TracingPolicy spec: the exec subset podfence reads is typed; other Tetragon "
   "fields are preserved so that podfence can report them rather than see them pruned",
    **{"x-kubernetes-preserve-unknown-fields": True})
TP_HDR = """# cilium.io/v1alpha1 %s for clusters WITHOUT Tetragon (deploy/crds/optional/README.md).
# Never apply this where Tetragon is installed: Tetragon owns this CRD and its full schema.
# Written for podfence from Tetragon's documented format: the exec subset podfence reads is
# typed, every other part of the spec is preserved (podfence reports what it cannot enforce).
"""
tp_cols = [{"name": "Selector", "type": "string", "jsonPath": ".spec.podSelector"}]
dump(os.path.join(OUT, "optional/cilium.io_tracingpolicies.yaml"), TP_HDR % "TracingPolicy",
     crd("cilium.io", "TracingPolicy", "tracingpolicies", "tracingpolicy", "Cluster",
         tp_spec, tp_cols, short=["tp"], desc="Tetragon's TracingPolicy (exec subset read by podfence)."))
dump(os.path.join(OUT, "optional/cilium.io_tracingpoliciesnamespaced.yaml"), TP_HDR % "TracingPolicyNamespaced",
     crd("cilium.io", "TracingPolicyNamespaced", "tracingpoliciesnamespaced", "tracingpolicynamespaced",
         "Namespaced", copy.deepcopy(tp_spec), tp_cols, short=["tpn"],
         desc="Tetragon's TracingPolicyNamespaced (exec subset read by podfence)."))
