"""What cachelib's RedisSerializer.loads does with CPython for malformed pickles.

Reads hex-encoded pickles, one a line, on stdin; prints one JSON object a line:
  {"label": "UnpicklingError"}  pickle.loads raised a pickle.PickleError: cachelib returns None
  {"label": "<ExceptionName>"}  any other exception: it propagates from cachelib's loads
  {"label": "value", "pickle": "<hex>"}  the value read, re-pickled with protocol 5
  {"label": "Unrepresentable", "type": "<name>"}  a value of a type outside the Rust model
"""

import collections
import json
import pickle
import sys

from cachelib.serializers import RedisSerializer

SCALARS = (type(None), bool, int, float, bytes)
CONTAINERS = (tuple, list, dict, collections.OrderedDict)


def representable(value):
    if type(value) in SCALARS:
        return True
    if type(value) is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            return False
        return True
    if type(value) in (dict, collections.OrderedDict):
        return all(representable(k) and representable(v) for k, v in value.items())
    if type(value) in CONTAINERS:
        return all(representable(v) for v in value)
    return False


def main():
    serializer = RedisSerializer()
    for line in sys.stdin:
        data = bytes.fromhex(line.strip())
        try:
            pickle.loads(data)
        except pickle.PickleError:
            # cachelib catches it and returns None.
            assert serializer.loads(b"!" + data) is None
            print(json.dumps({"label": "UnpicklingError"}))
            continue
        except Exception:
            pass
        try:
            value = serializer.loads(b"!" + data)
        except Exception as e:  # propagates from RedisCache.get
            print(json.dumps({"label": type(e).__name__, "message": str(e)}))
            continue
        if representable(value):
            print(json.dumps({"label": "value", "pickle": pickle.dumps(value, 5).hex()}))
        else:
            print(json.dumps({"label": "Unrepresentable", "type": type(value).__name__}))


main()
