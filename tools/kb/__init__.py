"""The AUTON kernel's knowledge tables (docs/console.md): PCI names, driver aliases, the target's
Debian archive and the man pages' whatis lines, built into one text blob at image build time.

One module per source: pciids (pci.ids), modalias (Debian's kernel package), archive (the
Packages and Contents indexes, through a private apt: apt), whatis (man-db); blob is the file
format and build assembles a tier's blob.
"""
