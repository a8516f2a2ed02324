import sys

from ghcache.validate.fakehub.runner import main

sys.exit(main())
