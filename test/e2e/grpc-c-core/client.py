"""A gRPC client on gRPC's C core (python3-grpcio), the core under the Firestore SDKs for iOS, C++,
Unity and Python, driven by test/e2e/grpc-c-core.test.ts. Messages are raw protobuf bytes (hex in
JSON): the test encodes requests and decodes responses with the code generated from the official
protos, so this script needs no Firestore stubs.

stdin:  {"target": "host:port", "metadata": [[k, v], ...], "calls": [call, ...]}
        call: {"kind": "unary" | "server_stream", "method": M, "request": hex, "timeout": s?}
            | {"kind": "bidi", "method": M, "requests": [hex, ...], "responses": n}
stdout: [{"ok": true, "responses": [hex, ...]} | {"ok": false, "code": n, "details": str}, ...]
"""
import json
import sys
import threading

import grpc


def ident(b):
    return b


def main():
    spec = json.load(sys.stdin)
    channel = grpc.insecure_channel(spec["target"])
    metadata = [tuple(pair) for pair in spec.get("metadata", [])]
    results = []
    for call in spec["calls"]:
        path = "/google.firestore.v1.Firestore/" + call["method"]
        timeout = call.get("timeout", 10)
        try:
            if call["kind"] == "unary":
                stub = channel.unary_unary(path, request_serializer=ident, response_deserializer=ident)
                response = stub(bytes.fromhex(call["request"]), metadata=metadata, timeout=timeout)
                results.append({"ok": True, "responses": [response.hex()]})
            elif call["kind"] == "server_stream":
                stub = channel.unary_stream(path, request_serializer=ident, response_deserializer=ident)
                responses = stub(bytes.fromhex(call["request"]), metadata=metadata, timeout=timeout)
                results.append({"ok": True, "responses": [r.hex() for r in responses]})
            else:
                # The requests go out, then the call stays open (no half-close) until enough answers came.
                done = threading.Event()

                def requests():
                    for h in call["requests"]:
                        yield bytes.fromhex(h)
                    done.wait(timeout)

                stub = channel.stream_stream(path, request_serializer=ident, response_deserializer=ident)
                responses = stub(requests(), metadata=metadata, timeout=timeout)
                got = []
                for r in responses:
                    got.append(r.hex())
                    if len(got) >= call["responses"]:
                        break
                done.set()
                responses.cancel()
                results.append({"ok": True, "responses": got})
        except grpc.RpcError as e:
            results.append({"ok": False, "code": e.code().value[0], "details": e.details()})
    channel.close()
    json.dump(results, sys.stdout)


main()
