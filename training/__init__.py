"""Training the learned parts of storydesk from data in the repository (``make train``).

Not imported by ``index/`` or ``bot/``: they load the committed weights, checked by sha256.
"""
