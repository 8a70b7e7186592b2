"""The benefit ledger: accounts and fund movements. The one writer of money (post, reverse, state, view)."""
