"""Stage 3: what sales hears: intent scoring, the alert decision, suggested approach and channels."""
