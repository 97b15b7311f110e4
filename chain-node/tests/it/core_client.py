"""Drives a chain-node with python-bitcoinrpc's AuthServiceProxy, a client written
for Bitcoin Core, and prints what the library returned or raised for each call as
one JSON object. The Rust test (core_client.rs) starts the node and checks the
report against Core's behaviour; this script asserts nothing itself.

Usage: python core_client.py URL CASES_JSON
URL carries the cookie credentials (http://__cookie__:PASSWORD@127.0.0.1:PORT);
CASES_JSON names the calls: {"name": ["method", param, ...], ...} for single calls
and {"batch:name": [["method", param, ...], ...]} for batches.
"""

import json
import sys

from bitcoinrpc.authproxy import AuthServiceProxy, JSONRPCException


def outcome(call):
    try:
        return {"result": call()}
    except JSONRPCException as e:
        return {"error": {"code": e.code, "message": e.message}}
    except Exception as e:  # what a caller of the library would trip over
        return {"exception": type(e).__name__, "detail": str(e)}


def main():
    url, cases = sys.argv[1], json.loads(sys.argv[2])
    rpc = AuthServiceProxy(url, timeout=120)
    report = {}
    for name, spec in cases.items():
        if name.startswith("batch:"):
            # batch_ consumes its lists; give it copies.
            report[name] = outcome(lambda: rpc.batch_([list(c) for c in spec]))
        else:
            method, params = spec[0], spec[1:]
            report[name] = outcome(lambda: getattr(rpc, method)(*params))
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
