"""Pure logic of every stage. No Beam import here: plain pytest calls these."""
