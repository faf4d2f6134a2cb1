"""The Swarm target (`--target swarm`, docs/swarm.md): the same desired state as services, overlay
networks, Swarm secrets and configs on a Swarm manager."""
