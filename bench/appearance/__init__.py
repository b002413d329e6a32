"""Re-ID for a suite: identity crops, training checkpoints once, embedding detections."""
