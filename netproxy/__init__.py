"""netproxy: the service proxy of every node.

Services + Endpoints (list+watch) -> a pure plan of one nftables table
(``plan``) -> one atomic netlink transaction (``nftables``). ``proxy`` holds
the loop and the ``run_proxy`` entry point the node agent calls.
"""
