"""Decision analytics: outcomes, risk metrics, recommendation under constraints, sensitivity."""
