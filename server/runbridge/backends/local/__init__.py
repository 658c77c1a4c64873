"""The embedded ``local`` backend: kernels, batch steps, files and shells on this machine."""
