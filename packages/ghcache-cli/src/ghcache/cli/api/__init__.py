"""``ghcache api``: what was asked (:mod:`.options`), how answers print
(:mod:`.printer`), and the click command with its request loop (:mod:`.command`)."""
