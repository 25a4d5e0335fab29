#!/usr/bin/env python3
"""A fake Kubernetes API server on loopback for the tests (issue 13).

Serves LIST (paged with limit/continue, field selector spec.nodeName) and
WATCH (chunked, one JSON event per line, bookmarks, 410 for a too old
resourceVersion) of the resources podfence reads, in the API server's wire
format, plus test controls under /_test/:

  POST /_test/put/<resource>           body: an object -> ADDED or MODIFIED
  POST /_test/delete/<resource>/<ns>/<name>            -> DELETED
  POST /_test/fault   body: {"kind": K, "count": N, "seconds": S}
       K: http-500, http-429 (Retry-After: 1), http-410, expire (410 ERROR in
       the watch), garbage (malformed JSON in the watch), cut (a watch ends
       inside an object), stall (a watch sends nothing for S seconds), down
       (every request refused for S seconds)
  POST /_test/compact                  watches from before now get 410

Usage: fake-apiserver.py PORT_FILE   (binds 127.0.0.1:0, writes its port there)
"""
import json
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
}
BY_NAME = {v[0]: k for k, v in RESOURCES.items()}

lock = threading.Condition()
rv = 100
objects = {name: {} for name in BY_NAME}  # resource -> key -> object
log = []  # (rv, resource, type, object)
compacted = 0  # watches from a resourceVersion below this get 410
faults = []  # [kind, count, until]


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

    def do_POST(self):
        global rv, compacted
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        parts = urlparse(self.path).path.strip("/").split("/")
        with lock:
            if parts[:2] == ["_test", "put"]:
                res = parts[2]
                k = key_of(body)
                typ = "MODIFIED" if k in objects[res] else "ADDED"
                rv += 1
                body.setdefault("metadata", {})["resourceVersion"] = str(rv)
                objects[res][k] = body
                log.append((rv, res, typ, body))
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
        self.send_json(200, {"ok": True})

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if take_fault(["down"]):
            self.close_connection = True
            self.wfile.write(b"")
            return
        if u.path not in RESOURCES:
            return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))
        name, api_version, kind, _ = RESOURCES[u.path]
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
            return self.watch(name, node, q, f == "http-410")
        if f == "http-410":
            return self.send_json(410, status(410, "Expired", "injected"))
        with lock:
            items = [o for o in objects[name].values()
                     if node is None or o.get("spec", {}).get("nodeName") == node]
            cur = rv
        items.sort(key=key_of)
        limit = int(q.get("limit", "0") or 0)
        start = int(q.get("continue", "0") or 0)
        page = items[start:start + limit] if limit else items[start:]
        nxt = start + len(page)
        meta = {"resourceVersion": str(cur)}
        if limit and nxt < len(items):
            meta["continue"] = str(nxt)
        # items of a list carry no kind/apiVersion, as the real server's
        page = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in page]
        self.send_json(200, {"kind": kind + "List", "apiVersion": api_version,
                             "metadata": meta, "items": page})

    def watch(self, name, node, q, http410):
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
                    # cut anywhere: the event in 2 chunks, split in the middle
                    data = json.dumps({"type": typ, "object": obj}).encode() + b"\n"
                    self.chunk(data[:len(data) // 2])
                    self.chunk(data[len(data) // 2:])
            self.chunk(json.dumps({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": str(sent)}}}).encode() + b"\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
