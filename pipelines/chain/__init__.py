"""The chain layer: program ids, layouts, decoders, transaction builders, curve and AMM math.

Pure code: no Ray, no sockets, no clocks. Everything here is exercised against real mainnet fixtures.
"""
