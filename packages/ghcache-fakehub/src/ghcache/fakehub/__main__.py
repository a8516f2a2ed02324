import sys

from ghcache.fakehub.runner import main

sys.exit(main())
