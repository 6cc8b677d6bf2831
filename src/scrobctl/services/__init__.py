"""One module per service: its wire format, its auth, its errors. Nothing about the terminal."""
