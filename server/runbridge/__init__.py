"""runbridge: run code from your editor in named compute sessions."""

__version__ = "0.1.0"

#: Version of the runbridge JSON-RPC protocol (docs/protocol.md).
PROTOCOL_VERSION = 1

__all__ = ["PROTOCOL_VERSION", "__version__"]
