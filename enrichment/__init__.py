"""Stage 2: who is visiting: IP to organization resolvers, the account list, name matching (名寄せ) and dormancy."""
