"""Text and tracker channels (WhatsApp, Telegram, SMS gateways, Traccar/OwnTracks): one module each.

They share `grammar.py` (an officer's message → its meaning) and `replies.py` (the answer).
"""
