"""The Qt-free reading session: what is open, measured and marked — one owner for each piece of state."""
