"""storydesk's index: article file -> clean, split, attribute quotes, embed, store -> search.

Nothing in this package knows about chat platforms; ``bot/`` builds on it.
"""
