"""The LSP front: pygls handlers that call the session manager (the only pygls user)."""
