"""A local stand-in for the Amazon EC2 IPAM API, for offline use and tests.

It speaks EC2's Query protocol, so boto3 and the AWS CLI talk to it as to AWS::

    sim = Simulator()
    ec2 = ipamsim.client(sim)            # in-process, no server
    # or: python -m ipamsim --port 4510; AWS_ENDPOINT_URL_EC2=http://127.0.0.1:4510

This package must not import Django.
"""

from __future__ import annotations

from ipamsim.inprocess import attach, client
from ipamsim.simulator import Config, Faults, Simulator

__all__ = ["Config", "Faults", "Simulator", "attach", "client"]
