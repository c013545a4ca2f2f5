"""Generated from proto/wtb/v1/wtb.proto by scripts/generate_proto.py: do not edit."""
