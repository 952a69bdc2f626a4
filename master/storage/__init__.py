"""Persistent storage on the master: the pure binding decisions (binder),
the local-path provisioner's volumes and the default StorageClass."""
