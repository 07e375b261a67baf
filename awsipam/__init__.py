"""AWS VPC IPAM's rules, limits, state sets and address maths, with no Django and no boto3.

The app (``pools``), its planner and the local endpoint (``ipamsim``) all ask this package, so
a rule corrected here is corrected everywhere:

- :mod:`awsipam.constants`: AWS's limits and default quotas;
- :mod:`awsipam.choices`: the enumerations AWS uses and the sets of states that mean something;
- :mod:`awsipam.catalog`: every rule's stable code, AWS's answer and its evidence;
- :mod:`awsipam.addressing`: CIDR parsing and arithmetic;
- :mod:`awsipam.facts`: what the rules need to know besides the request;
- :mod:`awsipam.rules`: one function per AWS request, returning every broken rule.

It imports nothing of ``pools`` or ``ipamsim``.
"""
