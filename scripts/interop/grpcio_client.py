"""A second, independent gRPC client against inferd: Python's grpcio (its C core, not grpc-js).

Messages are written and read with a small protobuf wire codec here (proto/grpc_service.proto's
field numbers), so no generated code is needed: grpcio's generic `channel.unary_unary` and
`stream_stream` carry the bytes. Usage: grpcio_client.py HOST:PORT. Prints PASS/FAIL lines and
exits 1 on a failure.
"""

import struct
import sys

import grpc

SERVICE = "/inference.GRPCInferenceService/"


# ---- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) ----


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number, payload):
    return varint((number << 3) | 2) + varint(len(payload)) + payload


def field_string(number, text):
    return field_bytes(number, text.encode("utf-8"))


def packed_int64(number, values):
    return field_bytes(number, b"".join(varint(v & 0xFFFFFFFFFFFFFFFF) for v in values))


def parse(data):
    """Every field of a message as (number, wire type, value): varints as int, the rest as bytes."""
    fields = []
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            length, i = read_varint(data, i)
            value = data[i : i + length]
            i += length
        elif wire == 1:
            value = data[i : i + 8]
            i += 8
        elif wire == 5:
            value = data[i : i + 4]
            i += 4
        else:
            raise ValueError(f"wire type {wire}")
        fields.append((number, wire, value))
    return fields


def read_varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def first(fields, number, default=None):
    for n, _, value in fields:
        if n == number:
            return value
    return default


def every(fields, number):
    return [value for n, _, value in fields if n == number]


# ---- inference messages ----

IN0 = list(range(16))
IN1 = [1] * 16


def int32_bytes(values):
    return struct.pack(f"<{len(values)}i", *values)


def simple_request(model="simple", request_id=""):
    def tensor(name):
        return field_string(1, name) + field_string(2, "INT32") + packed_int64(3, [1, 16])

    return (
        field_string(1, model)
        + (field_string(3, request_id) if request_id else b"")
        + field_bytes(5, tensor("INPUT0"))
        + field_bytes(5, tensor("INPUT1"))
        + field_bytes(7, int32_bytes(IN0))
        + field_bytes(7, int32_bytes(IN1))
    )


def outputs_of(response):
    """{output name: int32 values} of a ModelInferResponse with raw_output_contents."""
    fields = parse(response)
    names = [first(parse(o), 1).decode() for o in every(fields, 5)]
    raws = every(fields, 6)
    return {name: list(struct.unpack(f"<{len(raw) // 4}i", raw)) for name, raw in zip(names, raws)}


EXPECTED = {"OUTPUT0": [a + b for a, b in zip(IN0, IN1)], "OUTPUT1": [a - b for a, b in zip(IN0, IN1)]}

failed = False


def check(name, condition, detail=""):
    global failed
    if condition:
        print(f"PASS {name}")
    else:
        failed = True
        print(f"FAIL {name} {detail}")


def status_of(fn):
    try:
        fn()
    except grpc.RpcError as err:
        return err.code(), err.details()
    return grpc.StatusCode.OK, ""


def main(address):
    identity = lambda b: b  # noqa: E731
    with grpc.insecure_channel(address) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)

        def unary(method):
            return channel.unary_unary(SERVICE + method, request_serializer=identity, response_deserializer=identity)

        live = parse(unary("ServerLive")(b"", timeout=10))
        check("ServerLive says live", first(live, 1) == 1, str(live))
        ready = parse(unary("ServerReady")(b"", timeout=10))
        check("ServerReady says ready", first(ready, 1) == 1, str(ready))
        meta = parse(unary("ServerMetadata")(b"", timeout=10))
        check("ServerMetadata names the server", first(meta, 1) == b"inferd", str(meta))

        health = channel.unary_unary(
            "/grpc.health.v1.Health/Check", request_serializer=identity, response_deserializer=identity
        )
        check("Health/Check is SERVING", first(parse(health(b"", timeout=10)), 1) == 1)

        infer = unary("ModelInfer")
        got = outputs_of(infer(simple_request(), timeout=10))
        check("ModelInfer on simple gives sums and differences", got == EXPECTED, str(got))

        compressed = outputs_of(infer(simple_request(), timeout=10, compression=grpc.Compression.Gzip))
        check("ModelInfer with a gzip-compressed request", compressed == EXPECTED, str(compressed))

        meta_answer = outputs_of(infer(simple_request(), timeout=10, metadata=(("x-trace-bin", b"\x00\x01"),)))
        check("ModelInfer with binary metadata", meta_answer == EXPECTED)

        code, details = status_of(lambda: infer(simple_request(model="nope"), timeout=10))
        check("an unknown model is NOT_FOUND, named", code == grpc.StatusCode.NOT_FOUND and "nope" in details, details)

        code, details = status_of(lambda: unary("NoSuchRpc")(b"", timeout=10))
        check("an unknown method is UNIMPLEMENTED", code == grpc.StatusCode.UNIMPLEMENTED, f"{code} {details}")

        stream = channel.stream_stream(
            SERVICE + "ModelStreamInfer", request_serializer=identity, response_deserializer=identity
        )
        ids = [f"r{i}" for i in range(8)]
        responses = list(stream(iter(simple_request(request_id=i) for i in ids), timeout=20))
        answered = {}
        for message in responses:
            fields = parse(message)
            error = first(fields, 1, b"").decode()
            inner = first(fields, 2, b"")
            answered[first(parse(inner), 3, b"").decode()] = error or outputs_of(inner)
        check(
            "ModelStreamInfer answers every request on the stream",
            sorted(answered) == sorted(ids) and all(v == EXPECTED for v in answered.values()),
            str(answered),
        )

        # A payload that compresses well (the script starts the server with --max-body-size 1MB):
        # inflated past the limit it is RESOURCE_EXHAUSTED, not a crash.
        big = simple_request() + field_bytes(3, b"x" * (4 * 1024 * 1024))
        code, details = status_of(lambda: infer(big, timeout=30, compression=grpc.Compression.Gzip))
        check(
            "a message that inflates past the limit is RESOURCE_EXHAUSTED",
            code == grpc.StatusCode.RESOURCE_EXHAUSTED and "decompresses" in details,
            f"{code} {details}",
        )

        again = outputs_of(infer(simple_request(), timeout=10))
        check("the server keeps serving after the refusals", again == EXPECTED)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
