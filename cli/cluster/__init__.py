"""A whole cluster on one machine: `cox cluster up/down` and the machinery
behind it (host bridge, node namespaces with their own dockerd, the demo
image, sealing). See "One machine, many nodes" in DESIGN.md."""
