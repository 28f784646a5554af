"""Officers' positions: tracker apps, the phone app and located pings; the officer layer."""
