"""The agency side (R12-R16): capitation closes and statements, facility monthly reports, yearly assessment,
abuse signals and review samples. Reads the ledger's fund movements with its own SQL; never writes them."""
