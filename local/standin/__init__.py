"""Stand-ins: extensions of the moto AWS emulator for the APIs moto does not implement.

Each module patches moto's own response classes in place and keeps its extra state next to
moto's backend for the same account and region, so that it works in-process under
``moto.mock_aws()`` and through ``moto.server.ThreadedMotoServer`` in the same process.
"""
