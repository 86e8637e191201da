//! Builds the `cali.event/v1` JSON object from a finished group.
