"""What text a provider can carry, as data each adapter declares (`text_capability`)."""

from dataclasses import dataclass

LAST_BMP_CODE_POINT = 0xFFFF
LAST_CODE_POINT = 0x10FFFF
MAX_SHOWN_CHARACTERS = 5


@dataclass(frozen=True, slots=True)
class TextCapability:
    """The provider carries every character up to `last_code_point`."""

    last_code_point: int

    def cannot_carry(self, text: str) -> tuple[str, ...]:
        """Distinct characters of `text` past what the provider carries, in order of first
        appearance."""
        if not text or ord(max(text)) <= self.last_code_point:  # one pass in C: most texts
            return ()
        return tuple(dict.fromkeys(char for char in text if ord(char) > self.last_code_point))


ANY_TEXT = TextCapability(LAST_CODE_POINT)
# Nothing outside the Basic Multilingual Plane: no emoji (LINK: "Unicode 4-byte
# characters are not supported").
BMP_ONLY = TextCapability(LAST_BMP_CODE_POINT)


def describe_characters(characters: tuple[str, ...]) -> str:
    """`😀 (U+1F600), 👍 (U+1F44D)`: the first few, so a reason stays short."""
    shown = ", ".join(f"{char} (U+{ord(char):04X})" for char in characters[:MAX_SHOWN_CHARACTERS])
    return shown + (", …" if len(characters) > MAX_SHOWN_CHARACTERS else "")
