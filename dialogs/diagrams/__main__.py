"""Regenerate dialogs/diagrams/*.md from the state tables."""

from dialogs.diagrams import write

if __name__ == "__main__":
    for name in write():
        print(name)
