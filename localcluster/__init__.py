"""A whole cluster on one machine: the provisioner behind `cox cluster up/down`
(host bridge, node namespaces with their own dockerd, the demo image,
sealing). ``cli.commands.cluster`` is its command line; nothing here imports
``cli``. See "One machine, many nodes" in DESIGN.md."""
