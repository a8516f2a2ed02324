"""``python -m ghcache.ipfs ipfs status|sync|gc`` without the CLI installed."""

from ghcache.ipfs.commands import standalone

standalone(prog_name="python -m ghcache.ipfs")
