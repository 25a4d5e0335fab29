#!/usr/bin/env python3
"""Validates Kubernetes objects against CustomResourceDefinitions, offline.

Usage: crd-validate.py --crds FILE... [--docs FILE...] [--reject FILE...]

  --crds    CRD files: each CRD's schema must be structural (the API server's
            rules for apiextensions.k8s.io/v1) and is then used for the documents
  --docs    YAML files of objects: every document whose apiVersion/kind a CRD
            defines must validate (documents of other kinds are counted, skipped)
  --reject  the same, but every such document must be REJECTED (deliberately wrong
            objects); a file may say why in a comment "# reject: WHY" before each
            document, printed with the verdict

The API server's validation is emulated as kubectl apply --validate=strict sees it:
an unknown field is an error (the server would prune it silently otherwise), except
under x-kubernetes-preserve-unknown-fields; the scope must match (metadata.namespace
only on Namespaced kinds); x-kubernetes-list-type: map keys must be unique.
Prints one line per document and ends with "N valid, N rejected, N errors".
Exit status 1 on any schema that is not structural or any unexpected verdict.
"""
import argparse
import copy
import sys

import jsonschema
import yaml

VALUE_VALIDATION = ("allOf", "anyOf", "oneOf", "not")
FORBIDDEN_IN_VALUE_VALIDATION = ("type", "description", "default", "additionalProperties",
                                 "nullable", "x-kubernetes-preserve-unknown-fields",
                                 "x-kubernetes-int-or-string", "x-kubernetes-embedded-resource")


def structural_errors(node, path, skeleton=None, in_vv=False):
    """The reasons a schema is not structural (empty when it is)."""
    errs = []
    if not isinstance(node, dict):
        return ["%s: not a schema object" % path]
    if in_vv:
        for k in FORBIDDEN_IN_VALUE_VALIDATION:
            if k in node:
                errs.append("%s: %s inside a value validation" % (path, k))
        # only fields the skeleton declares may be named inside allOf/anyOf/oneOf/not
        for k in node.get("properties", {}):
            if skeleton is None or k not in skeleton.get("properties", {}):
                errs.append("%s.properties.%s: not declared outside the value validation" % (path, k))
        for k in node.get("required", []):
            if skeleton is not None and k not in skeleton.get("properties", {}):
                errs.append("%s.required: %s is not a declared property" % (path, k))
    else:
        free = node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-int-or-string")
        if not node.get("type") and not free:
            errs.append("%s: no type" % path)
        if "properties" in node and "additionalProperties" in node:
            errs.append("%s: properties and additionalProperties together" % path)
        if node.get("additionalProperties") is False:
            errs.append("%s: additionalProperties: false (not allowed in a CRD)" % path)
        if node.get("type") == "array" and "items" not in node:
            errs.append("%s: an array without items" % path)
    for k, sub in node.get("properties", {}).items():
        sk = skeleton["properties"].get(k) if in_vv and skeleton and k in skeleton.get("properties", {}) else None
        errs += structural_errors(sub, "%s.%s" % (path, k), sk, in_vv)
    if isinstance(node.get("additionalProperties"), dict):
        errs += structural_errors(node["additionalProperties"], path + "[*]", None, in_vv)
    if isinstance(node.get("items"), dict):
        errs += structural_errors(node["items"], path + "[]",
                                  skeleton.get("items") if skeleton else None, in_vv)
    elif "items" in node:
        errs.append("%s.items: one schema, not a list" % path)
    for k in VALUE_VALIDATION:
        if k not in node:
            continue
        subs = node[k] if isinstance(node[k], list) else [node[k]]
        for i, sub in enumerate(subs):
            errs += structural_errors(sub, "%s.%s[%d]" % (path, k, i), node if not in_vv else skeleton, True)
    return errs


def strict(node):
    """The schema as jsonschema sees it with unknown fields refused."""
    node = copy.deepcopy(node)

    def walk(n):
        if not isinstance(n, dict):
            return
        if n.get("type") == "object" and "properties" in n and "additionalProperties" not in n \
                and not n.get("x-kubernetes-preserve-unknown-fields"):
            n["additionalProperties"] = False
        for sub in n.get("properties", {}).values():
            walk(sub)
        for k in ("items", "additionalProperties"):
            walk(n.get(k))
    walk(node)
    # metadata: ObjectMeta as the API server types it (the fields a manifest may set)
    node["properties"]["metadata"] = {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "minLength": 1}, "namespace": {"type": "string"},
        "generateName": {"type": "string"}, "uid": {"type": "string"},
        "resourceVersion": {"type": "string"}, "generation": {"type": "integer"},
        "creationTimestamp": {}, "deletionTimestamp": {}, "deletionGracePeriodSeconds": {},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array"}, "ownerReferences": {"type": "array"},
        "managedFields": {"type": "array"}}}
    return node


def list_map_errors(node, obj, path):
    errs = []
    if isinstance(node, dict) and isinstance(obj, dict):
        for k, sub in node.get("properties", {}).items():
            if k in obj:
                errs += list_map_errors(sub, obj[k], path + "." + k)
    if isinstance(node, dict) and isinstance(obj, list):
        keys = node.get("x-kubernetes-list-map-keys")
        if node.get("x-kubernetes-list-type") == "map" and keys:
            seen = set()
            for i, e in enumerate(obj):
                kv = tuple(e.get(k) for k in keys) if isinstance(e, dict) else None
                if kv in seen:
                    errs.append("%s[%d]: duplicate entry for %s=%s" % (path, i, keys, kv))
                seen.add(kv)
        for i, e in enumerate(obj):
            errs += list_map_errors(node.get("items"), e, "%s[%d]" % (path, i))
    return errs


def load_crds(files):
    kinds, bad = {}, 0
    for f in files:
        for crd in yaml.safe_load_all(open(f)):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            names = spec["names"]
            if crd["metadata"]["name"] != "%s.%s" % (names["plural"], spec["group"]):
                print("FAIL %s: metadata.name is not <plural>.<group>" % f)
                bad += 1
            for v in spec["versions"]:
                schema = v["schema"]["openAPIV3Schema"]
                errs = structural_errors(schema, "openAPIV3Schema")
                what = "%s/%s %s" % (spec["group"], v["name"], names["kind"])
                if errs:
                    bad += 1
                    print("FAIL %s: not structural:\n  %s" % (what, "\n  ".join(errs)))
                    continue
                print("ok   %s (%s): structural" % (what, spec["scope"]))
                kinds[("%s/%s" % (spec["group"], v["name"]), names["kind"])] = (
                    spec["scope"], schema, jsonschema.Draft4Validator(strict(schema)))
    return kinds, bad


def verdict(kinds, doc):
    """(known, [errors]) for one document."""
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key not in kinds:
        return False, []
    scope, schema, validator = kinds[key]
    errs = ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", e.message)
            for e in validator.iter_errors(doc)]
    ns = (doc.get("metadata") or {}).get("namespace")
    if scope == "Cluster" and ns:
        errs.append("metadata.namespace: %s is cluster-scoped" % doc["kind"])
    errs += list_map_errors(schema, doc, "")
    return True, errs


def split_docs(path):
    """Documents with the "# reject: WHY" comment each was given."""
    text = open(path).read()
    out = []
    for chunk in text.split("\n---"):
        why = ""
        for line in chunk.splitlines():
            if line.startswith("# reject:"):
                why = line[len("# reject:"):].strip()
        doc = yaml.safe_load(chunk)
        if doc:
            out.append((doc, why))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crds", nargs="+", required=True)
    ap.add_argument("--docs", nargs="*", default=[])
    ap.add_argument("--reject", nargs="*", default=[])
    a = ap.parse_args()
    kinds, bad = load_crds(a.crds)
    n_ok = n_rej = 0
    for files, want_ok in ((a.docs, True), (a.reject, False)):
        for f in files:
            for doc, why in split_docs(f):
                known, errs = verdict(kinds, doc)
                name = "%s %s/%s" % (doc.get("kind"), (doc.get("metadata") or {}).get("namespace", ""),
                                     (doc.get("metadata") or {}).get("name"))
                if not known:
                    print("skip %s: %s (no CRD given for %s)" % (f, name, doc.get("apiVersion")))
                    continue
                if want_ok and not errs:
                    n_ok += 1
                    print("ok   %s: %s valid" % (f, name))
                elif not want_ok and errs:
                    n_rej += 1
                    print("ok   %s: %s rejected (%s): %s" % (f, name, why or "expected", errs[0]))
                else:
                    bad += 1
                    print("FAIL %s: %s %s" % (f, name, "; ".join(errs) if errs else
                                             "accepted, expected rejected (%s)" % why))
    print("%d valid, %d rejected, %d errors" % (n_ok, n_rej, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
