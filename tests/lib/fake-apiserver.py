#!/usr/bin/env python3
"""A fake Kubernetes API server on loopback for the tests (issue 13).

Serves LIST (paged with limit/continue, field selector spec.nodeName) and
WATCH (chunked, one JSON event per line, bookmarks, 410 for a too old
resourceVersion) of the resources podfence reads, in the API server's wire
format; the writes the agents make to the one resource they write,
policyproposals, on its namespaced paths:

  POST  /apis/podfence.io/v1alpha1/namespaces/<ns>/policyproposals
        create: 201 and the object, 409 AlreadyExists when it is there
  PATCH /apis/podfence.io/v1alpha1/namespaces/<ns>/policyproposals/<name>
        Content-Type: application/merge-patch+json (RFC 7386: maps merged
        key by key, null deletes, anything else replaced): 200 and the
        object; 404 NotFound when absent, 415 for any other patch type

(writes bump resourceVersion and make ADDED / MODIFIED watch events, as a put
does; a write to another resource gets 405), plus test controls under /_test/:

  POST /_test/put/<resource>           body: an object -> ADDED or MODIFIED
       (every POST answers {"ok": true, "rv": the resourceVersion now})
  POST /_test/delete/<resource>/<ns>/<name>            -> DELETED
  POST /_test/fault   body: {"kind": K, "count": N, "seconds": S}
       K: http-500, http-429 (Retry-After: 1), http-410, expire (410 ERROR in
       the watch), garbage (malformed JSON in the watch), cut (a watch ends
       inside an object), stall (a watch sends nothing for S seconds), down
       (every request refused for S seconds, or the next N requests: their
       connections closed unanswered)
  POST /_test/compact                  watches from before now get 410
  GET  /_test/stats                    {"list_end": {resource: unix time the
       last page of its last complete list was written}, "lists": {resource:
       complete lists}, "objects": {resource: count}, "rv": current}
  GET  /_test/sent/<rv>                {"sent": unix time the watch event of
       that resourceVersion was written (null: not yet)}
  GET  /_test/get/<resource>/<ns>/<name>   the object stored (404 if none)
A put body may also be a JSON array of objects (one event each, in order).
Faults http-500, http-429 and down apply to writes too (a counted fault is
taken by the next request, read or write).

What kubectl (1.20, Debian's kubernetes-client) asks for is served too:
/version, discovery (/api, /apis, /api/v1, /apis/<group>/<version>: names,
kinds, scope, verbs), namespaced paths (/.../namespaces/<ns>/<resource>),
single objects (/.../<resource>/<name>), and Table answers (Accept:
...;as=Table;g=meta.k8s.io, includeObject=None|Metadata|Object) for lists and
watches. FAKE_API_LOG=1 logs every request (method, path, Accept or, for a
write, Content-Type) on stderr.

Usage: fake-apiserver.py PORT_FILE   (binds 127.0.0.1:0, writes its port there)
"""
import calendar
import copy
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

RESOURCES = {
    "/api/v1/pods": ("pods", "v1", "Pod", True),
    "/apis/cilium.io/v1alpha1/tracingpolicies": ("tracingpolicies", "cilium.io/v1alpha1", "TracingPolicy", False),
    "/apis/cilium.io/v1alpha1/tracingpoliciesnamespaced": ("tracingpoliciesnamespaced", "cilium.io/v1alpha1", "TracingPolicyNamespaced", True),
    "/apis/podfence.io/v1alpha1/policytemplates": ("policytemplates", "podfence.io/v1alpha1", "PolicyTemplate", False),
    "/apis/podfence.io/v1alpha1/policybindings": ("policybindings", "podfence.io/v1alpha1", "PolicyBinding", True),
    "/apis/podfence.io/v1alpha1/policyproposals": ("policyproposals", "podfence.io/v1alpha1", "PolicyProposal", True),
}
BY_NAME = {v[0]: k for k, v in RESOURCES.items()}
# group/version -> [(plural, kind, namespaced)], for discovery
GROUP_VERSIONS = {}
for _path, (_n, _gv, _k, _ns) in RESOURCES.items():
    GROUP_VERSIONS.setdefault(_gv, []).append((_n, _k, _ns))
VERBS = ["get", "list", "watch"]  # what this server does
WRITABLE = {"policyproposals": ["create", "patch"]}  # and the writes it takes, per resource

lock = threading.Condition()
rv = 100
objects = {name: {} for name in BY_NAME}  # resource -> key -> object
log = []  # (rv, resource, type, object)
compacted = 0  # watches from a resourceVersion below this get 410
faults = []  # [kind, count, until]
created = {name: {} for name in BY_NAME}  # resource -> key -> first put (for Age)
list_end = {}  # resource -> time the last page of its last complete list was written
list_count = {}  # resource -> complete lists served
sent_at = {}  # resourceVersion -> time its watch event was written (first watch)


def key_of(obj):
    m = obj.get("metadata", {})
    return "%s/%s" % (m.get("namespace", ""), m.get("name", ""))


def take_fault(kinds):
    with lock:
        now = time.time()
        for f in faults:
            if f[0] in kinds and (f[1] > 0 or f[2] > now):
                if f[1] > 0:
                    f[1] -= 1
                return f[0]
    return None


def down():
    """Whether a "down" fault is on (open watches are cut too)."""
    with lock:
        return any(f[0] == "down" and f[2] > time.time() for f in faults)


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def merge_patch(target, patch):
    """RFC 7386: a map merges key by key (null removes a key); any other value replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def record(res, obj):
    """Stores obj (a new version) under lock: resourceVersion, watch event; returns it."""
    global rv
    k = key_of(obj)
    typ = "MODIFIED" if k in objects[res] else "ADDED"
    rv += 1
    obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
    objects[res][k] = obj
    if typ == "ADDED":
        created[res][k] = time.time()
    log.append((rv, res, typ, obj))
    lock.notify_all()
    return obj


VERSION = {"major": "1", "minor": "20", "gitVersion": "v1.20.2", "gitCommit": "fake",
           "gitTreeState": "clean", "buildDate": "2021-01-13T13:20:00Z", "goVersion": "go1.15.5",
           "compiler": "gc", "platform": "linux/amd64"}


def discovery(path, addr):
    """The discovery documents kubectl reads before anything else, or None."""
    path = path.rstrip("/")
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": "%s:%d" % addr}]}
    groups = sorted({gv.split("/")[0] for gv in GROUP_VERSIONS if "/" in gv})
    if path == "/apis":
        out = []
        for g in groups:
            gv = "%s/v1alpha1" % g
            ver = {"groupVersion": gv, "version": "v1alpha1"}
            out.append({"name": g, "versions": [ver], "preferredVersion": ver})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}
    if path.startswith("/apis/") and path[len("/apis/"):] in groups:
        g = path[len("/apis/"):]
        ver = {"groupVersion": g + "/v1alpha1", "version": "v1alpha1"}
        return {"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": [ver],
                "preferredVersion": ver}
    gv = "v1" if path == "/api/v1" else path[len("/apis/"):] if path.startswith("/apis/") else None
    if gv not in GROUP_VERSIONS:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [{"name": n, "singularName": k.lower(), "namespaced": nsd, "kind": k,
                           "verbs": VERBS + WRITABLE.get(n, [])} for n, k, nsd in GROUP_VERSIONS[gv]]}


def route(path):
    """(canonical resource path, namespace or None, object name or None), or (None,)*3."""
    parts = path.rstrip("/").split("/")
    base = parts[:3] if parts[1:2] == ["api"] else parts[:4]  # ["", api, v1] / ["", apis, g, v]
    rest = parts[len(base):]
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if not 1 <= len(rest) <= 2:
        return None, None, None
    canon = "/".join(base + [rest[0]])
    if canon not in RESOURCES:
        return None, None, None
    namespaced = RESOURCES[canon][3]
    if ns is not None and not namespaced:
        return None, None, None
    if len(rest) == 2 and namespaced and ns is None:
        return None, None, None  # a namespaced object is read in its namespace
    return canon, ns, rest[1] if len(rest) == 2 else None


def table_version(accept):
    """The meta.k8s.io version of the Table the client asks for first, or None."""
    for part in accept.split(","):
        p = dict(x.strip().split("=", 1) for x in part.split(";")[1:] if "=" in x)
        if p.get("as") == "Table" and p.get("g") == "meta.k8s.io":
            return p.get("v", "v1")
        if part.split(";")[0].strip() in ("application/json", "*/*"):
            return None
    return None


def age(res, obj):
    ts = obj.get("metadata", {}).get("creationTimestamp")
    if ts:
        t = calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))
    else:
        t = created.get(res, {}).get(key_of(obj))
    if t is None:
        return "<unknown>"
    d = max(0, int(time.time() - t))
    return "%ds" % d if d < 120 else "%dm" % (d // 60) if d < 7200 else "%dh" % (d // 3600)


def pod_cells(obj):
    st = obj.get("status", {})
    cs = st.get("containerStatuses", [])
    ready = sum(1 for c in cs if c.get("ready"))
    phase = st.get("phase") or ("Running" if cs else "Pending")
    spec = obj.get("spec", {})
    return ["%d/%d" % (ready, len(spec.get("containers", []))), phase,
            sum(c.get("restartCount", 0) for c in cs)], \
        [st.get("podIP", "<none>"), spec.get("nodeName", "<none>"), "<none>", "<none>"]


def to_table(res, kind, api_version, objs, meta, version, include):
    """A meta.k8s.io Table of objs, as the API server converts a list or an object."""
    col = lambda n, t, d, p=0, f="": {"name": n, "type": t, "format": f, "description": d, "priority": p}
    cols = [col("Name", "string", "Name must be unique within a namespace.", 0, "name")]
    if res == "pods":
        cols += [col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
                 col("Status", "string", "The aggregate status of the containers in this pod."),
                 col("Restarts", "integer", "The number of times the containers in this pod have been restarted."),
                 col("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created."),
                 col("IP", "string", "IP address allocated to the pod.", 1),
                 col("Node", "string", "Name of the node this pod is scheduled on.", 1),
                 col("Nominated Node", "string", "Name of the node this pod is nominated to.", 1),
                 col("Readiness Gates", "string", "Pod readiness gates.", 1)]
    else:
        cols += [col("Age", "date", "CreationTimestamp is a timestamp representing the server time when this object was created.")]
    rows = []
    for o in objs:
        m = o.get("metadata", {})
        if res == "pods":
            main, wide = pod_cells(o)
            cells = [m.get("name")] + main + [age(res, o)] + wide
        else:
            cells = [m.get("name"), age(res, o)]
        row = {"cells": cells}
        if include == "Object":
            row["object"] = dict(o, kind=kind, apiVersion=api_version)
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/" + version,
                             "metadata": m}
        rows.append(row)
    tmeta = {k: v for k, v in meta.items() if k in ("resourceVersion", "continue")}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/" + version, "metadata": tmeta,
            "columnDefinitions": cols, "rows": rows}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, code, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def log_api(self, header):
        if os.environ.get("FAKE_API_LOG"):
            sys.stderr.write("%.6f %s %s %s: %s\n" % (time.time(), self.command, self.path, header,
                                                     self.headers.get(header, "")))
            sys.stderr.flush()

    def do_PATCH(self):
        self.write()

    def do_POST(self):
        global rv, compacted
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        if not urlparse(self.path).path.startswith("/_test/"):
            return self.write(raw)
        body = json.loads(raw or b"{}")
        parts = urlparse(self.path).path.strip("/").split("/")
        with lock:
            if parts[:2] == ["_test", "put"]:
                res = parts[2]
                for obj in body if isinstance(body, list) else [body]:
                    record(res, obj)
            elif parts[:2] == ["_test", "delete"]:
                res, k = parts[2], "%s/%s" % (parts[3], parts[4])
                obj = objects[res].pop(k, None)
                if obj is not None:
                    rv += 1
                    obj = dict(obj, metadata=dict(obj["metadata"], resourceVersion=str(rv)))
                    log.append((rv, res, "DELETED", obj))
            elif parts[:2] == ["_test", "fault"]:
                faults.append([body["kind"], body.get("count", 0),
                               time.time() + body.get("seconds", 0)])
            elif parts[:2] == ["_test", "compact"]:
                compacted = rv
            lock.notify_all()
            now_rv = rv
        self.send_json(200, {"ok": True, "rv": now_rv})

    def write(self, raw=None):
        """POST (create) or PATCH (merge patch) of a writable resource's object."""
        self.log_api("Content-Type")
        if raw is None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if take_fault(["down"]):
            self.close_connection = True
            return
        path, ns, obj_name = route(urlparse(self.path).path)
        if path is None:
            return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))
        res, api_version, kind, _ = RESOURCES[path]
        verb = "create" if self.command == "POST" else "patch"
        if verb not in WRITABLE.get(res, []) or ns is None or (obj_name is None) != (verb == "create"):
            return self.send_json(405, status(405, "MethodNotAllowed", "%s is not supported here" % self.command))
        f = take_fault(["http-500", "http-429"])
        if f == "http-500":
            return self.send_json(500, status(500, "InternalError", "injected"))
        if f == "http-429":
            return self.send_json(429, status(429, "TooManyRequests", "injected"), [("Retry-After", "1")])
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if verb == "patch" and ctype != "application/merge-patch+json":
            return self.send_json(415, status(415, "UnsupportedMediaType",
                                              "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json"))
        try:
            body = json.loads(raw)
        except ValueError as e:
            return self.send_json(400, status(400, "BadRequest", "invalid JSON: %s" % e))
        if not isinstance(body, dict):
            return self.send_json(400, status(400, "BadRequest", "the body is not a JSON object"))
        with lock:
            if verb == "create":
                obj = copy.deepcopy(body)
                m = obj.setdefault("metadata", {})
                name = m.get("name")
                if not name or m.setdefault("namespace", ns) != ns:
                    return self.send_json(400, status(400, "BadRequest",
                                                      "metadata.name missing or metadata.namespace not %s" % ns))
                if "%s/%s" % (ns, name) in objects[res]:
                    st = status(409, "AlreadyExists", '%s.podfence.io "%s" already exists' % (res, name))
                    st["details"] = {"name": name, "group": "podfence.io", "kind": res}
                    return self.send_json(409, st)
                m["uid"] = "uid-%s-%s-%d" % (ns, name, rv + 1)
                m["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                code = 201
            else:
                old = objects[res].get("%s/%s" % (ns, obj_name))
                if old is None:
                    st = status(404, "NotFound", '%s.podfence.io "%s" not found' % (res, obj_name))
                    st["details"] = {"name": obj_name, "group": "podfence.io", "kind": res}
                    return self.send_json(404, st)
                obj = merge_patch(old, body)
                # what a patch cannot change: the object's identity
                obj["metadata"] = dict(obj.get("metadata") or {}, name=obj_name, namespace=ns,
                                       uid=old["metadata"].get("uid"))
                code = 200
            obj["apiVersion"], obj["kind"] = api_version, kind
            obj = copy.deepcopy(record(res, obj))
        self.send_json(code, obj)

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        self.log_api("Accept")
        if u.path.startswith("/_test/"):
            return self.test_get(u.path.strip("/").split("/"))
        if take_fault(["down"]):
            self.close_connection = True
            self.wfile.write(b"")
            return
        if u.path in ("/version", "/version/"):
            return self.send_json(200, VERSION)
        disc = discovery(u.path, self.server.server_address)
        if disc is not None:
            return self.send_json(200, disc)
        path, ns, obj_name = route(u.path)
        if path is None:
            return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))
        name, api_version, kind, _ = RESOURCES[path]
        table = table_version(self.headers.get("Accept", ""))
        if obj_name is not None:
            return self.get_one(name, kind, ns, obj_name, table, q)
        f = take_fault(["http-500", "http-429", "http-410"])
        if f == "http-500":
            return self.send_json(500, status(500, "InternalError", "injected"))
        if f == "http-429":
            return self.send_json(429, status(429, "TooManyRequests", "injected"), [("Retry-After", "1")])
        node = None
        fs = q.get("fieldSelector", "")
        if fs.startswith("spec.nodeName="):
            node = fs.split("=", 1)[1]
        if q.get("watch") in ("1", "true"):
            return self.watch(name, node, q, f == "http-410", ns, table)
        if f == "http-410":
            return self.send_json(410, status(410, "Expired", "injected"))
        with lock:
            items = [o for o in objects[name].values()
                     if (node is None or o.get("spec", {}).get("nodeName") == node)
                     and (ns is None or o.get("metadata", {}).get("namespace") == ns)]
            cur = rv
        items.sort(key=key_of)
        limit = int(q.get("limit", "0") or 0)
        start = int(q.get("continue", "0") or 0)
        page = items[start:start + limit] if limit else items[start:]
        nxt = start + len(page)
        meta = {"resourceVersion": str(cur)}
        if limit and nxt < len(items):
            meta["continue"] = str(nxt)
        if table:
            self.send_json(200, to_table(name, kind, api_version, page, meta, table,
                                         q.get("includeObject", "Metadata")))
        else:
            # items of a list carry no kind/apiVersion, as the real server's
            page = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in page]
            self.send_json(200, {"kind": kind + "List", "apiVersion": api_version,
                                 "metadata": meta, "items": page})
        if "continue" not in meta:
            with lock:
                list_end[name] = time.time()
                list_count[name] = list_count.get(name, 0) + 1

    def get_one(self, name, kind, ns, obj_name, table, q):
        with lock:
            obj = objects[name].get("%s/%s" % (ns or "", obj_name))
        if obj is None:
            st = status(404, "NotFound", '%s "%s" not found' % (name, obj_name))
            st["details"] = {"name": obj_name, "kind": name}
            return self.send_json(404, st)
        api_version = RESOURCES[BY_NAME[name]][1]
        if table:
            return self.send_json(200, to_table(name, kind, api_version, [obj], obj["metadata"],
                                                table, q.get("includeObject", "Metadata")))
        self.send_json(200, dict(obj, kind=kind, apiVersion=api_version))

    def test_get(self, parts):
        with lock:
            if parts[:2] == ["_test", "stats"]:
                return self.send_json(200, {"list_end": dict(list_end), "lists": dict(list_count),
                                            "objects": {k: len(v) for k, v in objects.items()},
                                            "rv": rv})
            if parts[:2] == ["_test", "sent"] and len(parts) == 3:
                return self.send_json(200, {"sent": sent_at.get(parts[2])})
            if parts[:2] == ["_test", "get"] and len(parts) == 5 and parts[2] in objects:
                obj = objects[parts[2]].get("%s/%s" % (parts[3], parts[4]))
                if obj is not None:
                    _, api_version, kind, _ = RESOURCES[BY_NAME[parts[2]]]
                    return self.send_json(200, dict(obj, kind=kind, apiVersion=api_version))
        self.send_json(404, status(404, "NotFound", "no such test control"))

    def watch(self, name, node, q, http410, ns=None, table=None):
        since = int(q.get("resourceVersion", "0") or 0)
        timeout = min(int(q.get("timeoutSeconds", "300")), 300)
        if http410 or since < compacted:
            return self.send_json(410, status(410, "Expired", "too old resource version"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        end = time.time() + timeout
        sent = since
        try:
            while time.time() < end:
                if down():
                    self.close_connection = True
                    return
                f = take_fault(["expire", "garbage", "cut", "stall"])
                if f == "expire":
                    self.chunk(json.dumps({"type": "ERROR", "object": status(410, "Expired", "too old")}).encode() + b"\n")
                    break
                if f == "garbage":
                    self.chunk(b'{"type":"ADDED","object":{]]\n')
                    break
                if f == "cut":
                    self.chunk(b'{"type":"MODIFIED","object":{"metadata":{"na')
                    self.close_connection = True
                    return
                if f == "stall":
                    time.sleep(30)
                    continue
                with lock:
                    new = [e for e in log if e[0] > sent and e[1] == name]
                    if not new:
                        lock.wait(0.2)
                        continue
                for erv, _, typ, obj in new:
                    sent = erv
                    if node is not None and obj.get("spec", {}).get("nodeName") != node:
                        continue
                    if ns is not None and obj.get("metadata", {}).get("namespace") != ns:
                        continue
                    if table:
                        res_kind, api_version = RESOURCES[BY_NAME[name]][2], RESOURCES[BY_NAME[name]][1]
                        obj = to_table(name, res_kind, api_version, [obj], obj["metadata"], table,
                                       q.get("includeObject", "Metadata"))
                    # cut anywhere: the event in 2 chunks, split in the middle
                    data = json.dumps({"type": typ, "object": obj}).encode() + b"\n"
                    self.chunk(data[:len(data) // 2])
                    self.chunk(data[len(data) // 2:])
                    with lock:
                        sent_at.setdefault(str(erv), time.time())
            if table is None or q.get("allowWatchBookmarks") in ("1", "true"):
                self.chunk(json.dumps({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": str(sent)}}}).encode() + b"\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
