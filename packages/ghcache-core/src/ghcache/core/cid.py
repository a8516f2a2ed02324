"""CIDv1 (raw codec, sha2-256, base32): the kernel's, under the name peers and tools use."""

from ghcache.core.kernel.keys import cid_for_bytes, is_cid

__all__ = ["cid_for_bytes", "is_cid"]
