"""A fixed grammar of spoken assistant commands, numbers, dates and times, plus free text.

Every sentence is already normalised (lowercase words, apostrophes, single spaces) with
numbers, times and dates in words ("set a timer for twenty five minutes", "call mom at seven
thirty p m", "remind me to water the plants on march third"). A share of the sentences
(`free_text_share`) are 3-6 words drawn from COMMON_WORDS, a list of everyday English words.

Sampling uses only the numpy Generator it is given, so a seeded generator gives the same
sentence on every machine.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError

# Common English words, written for this project from general knowledge of everyday English
# (not copied from any list); dedicated to the public domain (CC0-1.0).
COMMON_WORDS = tuple("""
a about after again air all almost also always and animal another answer any are around ask away
back bad ball be because bed been before began begin best better between big bird black blue boat
body book both box boy bread bring brother brown build but buy by call came can can't car carry cat
change child children city clean close cold color come could country cup cut dark day did didn't
different do does dog don't door down draw dream drink drive dry each early earth eat egg end enough
even evening every eye face fall family far farm fast father feel few field find fire first fish five
floor flower fly follow food foot for found four friend from front full game garden gave girl give
glass go gold good got grass great green ground group grow had hair half hand happy hard has have he
head hear heart heavy help her here high hill him his hold home horse hot house how i i'm idea if
important in inside is it it's just keep kind king know lake land large last late laugh learn leave
left let letter life light like line listen little live long look love low made make man many may me
mean men might milk mind money more morning most mother mountain move much must my name near need
never new next nice night no north not nothing now of off often old on once one only open or other
our out over own page paper park part people picture piece place plant play point poor pull put
queen question quick quiet rain ran read ready red remember rest right river road rock room round
run said same saw say school sea second see seem sentence shall she ship shoe short should show side
simple sing sister sit sky sleep slow small snow so some something song soon sound south speak stand
star start stay still stone stop story street strong study such summer sun sure table take talk
tall teacher tell than thank that the their them then there these they thing think this those
thought three through time to today together told too took top tree true try turn two under until
up us use very voice walk wall want warm was watch water way we weather week well went were what
when where which while white who why wide will wind window winter with without woman wood word work
world would write year yellow yes yesterday you young your
""".split())

_COMMON_SET = frozenset(COMMON_WORDS)
COMMAND_SEEDS = 2000  # seeds per template that list the commands made of common words only (18; as many at 20,000)

ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
ORDINAL_ONES = ("zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
                "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
                "seventeenth", "eighteenth", "nineteenth")
ORDINAL_TENS = {20: "twentieth", 30: "thirtieth"}
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

ROOMS = ("kitchen", "living room", "bedroom", "bathroom", "office", "garage", "hallway", "dining room")
DEVICES = ("light", "lights", "lamp", "fan", "heater", "tv", "radio", "air conditioner", "coffee maker")
OPENABLE = ("blinds", "curtains", "garage door", "front door", "back door", "window")
CONTACTS = ("mom", "dad", "grandma", "grandpa", "anna", "john", "maria", "david", "sarah", "the office",
            "my sister", "my brother", "the doctor", "emma", "james", "lucy")
GENRES = ("jazz", "rock", "classical", "country", "pop", "relaxing", "some", "happy")
MEDIA = ("music", "songs")
TASKS = ("water the plants", "call the bank", "buy milk", "take out the trash", "pay the rent", "walk the dog",
         "check the mail", "book a table", "feed the cat", "pick up the kids", "clean the kitchen")
ITEMS = ("milk", "eggs", "bread", "apples", "coffee", "rice", "butter", "cheese", "bananas", "tea", "soap")
CITIES = ("london", "paris", "boston", "chicago", "berlin", "tokyo", "denver", "seattle")
UNITS = ("minutes", "seconds", "hours")
WHEN = ("today", "tomorrow", "tonight", "this weekend", "next week", "this morning", "this evening")


def number_words(n: int) -> str:
    """0-999 in words: 25 -> 'twenty five', 110 -> 'one hundred ten'."""
    if not 0 <= n <= 999:
        raise ConfigError("number out of range", received=n, expected="0-999", fix="pass a smaller number")
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    rest = n % 100
    return ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))


def ordinal_words(n: int) -> str:
    """1-31 as ordinals: 3 -> 'third', 21 -> 'twenty first'."""
    if not 1 <= n <= 31:
        raise ConfigError("ordinal out of range", received=n, expected="1-31", fix="pass a day of the month")
    if n < 20:
        return ORDINAL_ONES[n]
    if n % 10 == 0:
        return ORDINAL_TENS[n]
    return TENS[n // 10] + " " + ORDINAL_ONES[n % 10]


class SentenceGrammar:
    """Samples command sentences (or, with probability free_text_share, free text of common words).

    Commands longer than `max_words` words are drawn again.
    """

    def __init__(self, free_text_share: float = 0.2, free_text_words: tuple = (3, 6), max_words: int = 10):
        if isinstance(free_text_share, bool) or not isinstance(free_text_share, (int, float)) \
                or not 0.0 <= free_text_share <= 1.0:
            raise ConfigError("free_text_share must be in [0, 1]", received=repr(free_text_share),
                              expected="a float share", fix="pass e.g. free_text_share=0.2")
        words = tuple(free_text_words) if isinstance(free_text_words, (tuple, list)) else ()
        if len(words) != 2 or not all(isinstance(w, int) and not isinstance(w, bool) for w in words) \
                or not 1 <= words[0] <= words[1]:
            raise ConfigError("free_text_words must be (min, max) word counts", received=repr(free_text_words),
                              expected="two ints 1 <= min <= max", fix="pass e.g. free_text_words=(3, 6)")
        if isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < max(4, words[1]):
            raise ConfigError("max_words is too small", received=repr(max_words),
                              expected=f"an int >= {max(4, words[1])} (the longest free text and short commands)",
                              fix="pass e.g. max_words=10")
        self.free_text_share = float(free_text_share)
        self.max_words = max_words
        self.free_text_words = words
        self._templates = (
            (3, self._device), (2, self._openable), (2, self._timer), (2, self._alarm), (2, self._call),
            (2, self._music), (1, self._volume), (2, self._reminder), (1, self._calendar), (1, self._weather),
            (1, self._shopping), (1, self._thermostat), (1, self._question),
        )
        weights = np.array([w for w, _ in self._templates], dtype=np.float64)
        self._weights = weights / weights.sum()
        self._common_commands = None  # is_free_text fills it on first use

    def get_config(self) -> dict:
        return {"free_text_share": self.free_text_share, "free_text_words": list(self.free_text_words),
                "max_words": self.max_words}

    @classmethod
    def from_config(cls, config: dict) -> "SentenceGrammar":
        return cls(**config)

    def vocabulary(self) -> list[str]:
        """Every word the grammar can produce (sorted)."""
        words = set(COMMON_WORDS)
        for group in (ONES, TENS, ORDINAL_ONES, tuple(ORDINAL_TENS.values()), MONTHS, WEEKDAYS, ROOMS, DEVICES,
                      OPENABLE, CONTACTS, GENRES, MEDIA, TASKS, ITEMS, CITIES, UNITS, WHEN):
            for phrase in group:
                words.update(phrase.split())
        for template in (self._device, self._openable, self._timer, self._alarm, self._call, self._music,
                         self._volume, self._reminder, self._calendar, self._weather, self._shopping,
                         self._thermostat, self._question):
            for k in range(400):  # the fixed words of every template
                words.update(template(np.random.default_rng(k)).split())
        words.discard("")
        return sorted(words)

    def is_free_text(self, sentence: str) -> bool:
        """Whether `sentence` (normalised) is free text rather than a command: every word a common word,
        and not one of the few commands made of common words only ("open the window"), which are
        listed by running every template on COMMAND_SEEDS seeds (the list stops growing long before)."""
        words = sentence.split()
        if not words or not all(w in _COMMON_SET for w in words):
            return False
        if self._common_commands is None:
            made = (template(np.random.default_rng(k)) for k in range(COMMAND_SEEDS) for _, template in self._templates)
            self._common_commands = {text for text in made if all(w in _COMMON_SET for w in text.split())}
        return " ".join(words) not in self._common_commands

    def sample(self, rng: np.random.Generator) -> str:
        if rng.uniform() < self.free_text_share:
            n = int(rng.integers(self.free_text_words[0], self.free_text_words[1] + 1))
            return " ".join(COMMON_WORDS[int(i)] for i in rng.integers(0, len(COMMON_WORDS), n))
        while True:  # longer commands are drawn again (sentences stay under ~4 s)
            template = self._templates[int(rng.choice(len(self._templates), p=self._weights))][1]
            words = template(rng).split()
            if len(words) <= self.max_words:
                return " ".join(words)

    # --- pieces ------------------------------------------------------------------------------

    @staticmethod
    def _pick(rng, options):
        return options[int(rng.integers(len(options)))]

    def _time(self, rng) -> str:
        hour = int(rng.integers(1, 13))
        kind = int(rng.integers(6))
        if kind == 0:
            return f"{ONES[hour]} o'clock"
        if kind == 1:
            return f"{self._pick(rng, ('half past', 'quarter past', 'quarter to'))} {ONES[hour]}"
        minute = self._pick(rng, (0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55))
        minutes = "" if minute == 0 else (" oh five" if minute == 5 else " " + number_words(minute))
        suffix = self._pick(rng, ("", " a m", " p m", " in the morning", " in the evening"))
        return f"{ONES[hour]}{minutes}{suffix}"

    def _date(self, rng) -> str:
        month = int(rng.integers(12))
        day = ordinal_words(int(rng.integers(1, MONTH_DAYS[month] + 1)))
        return f"{MONTHS[month]} {day}" if rng.uniform() < 0.7 else f"the {day} of {MONTHS[month]}"

    def _day(self, rng) -> str:
        kind = int(rng.integers(3))
        if kind == 0:
            return self._pick(rng, WHEN)
        return ("on " if kind == 1 else "next ") + self._pick(rng, WEEKDAYS)

    # --- templates ---------------------------------------------------------------------------

    def _device(self, rng) -> str:
        state, room, device = self._pick(rng, ("on", "off")), self._pick(rng, ROOMS), self._pick(rng, DEVICES)
        kind = int(rng.integers(4))
        if kind == 0:
            return f"turn {state} the {room} {device}"
        if kind == 1:
            return f"switch {state} the {device} in the {room}"
        if kind == 2:
            return f"please turn {state} the {device}"
        return f"{self._pick(rng, ('dim', 'brighten'))} the {room} lights" if rng.uniform() < 0.5 else \
            f"set the {room} lights to {number_words(int(rng.integers(1, 11)) * 10)} percent"

    def _openable(self, rng) -> str:
        thing = self._pick(rng, OPENABLE)
        verb = self._pick(rng, ("open", "close", "lock") if "door" in thing else ("open", "close"))
        return f"{verb} the {thing}" + self._pick(rng, ("", " please", f" in the {self._pick(rng, ROOMS)}"))

    def _timer(self, rng) -> str:
        unit = self._pick(rng, UNITS)
        n = int(rng.integers(2, 60 if unit != "hours" else 13))
        kind = int(rng.integers(3))
        if kind == 0:
            return f"set a timer for {number_words(n)} {unit}"
        if kind == 1:
            return f"start a {number_words(n)} minute timer"
        return self._pick(rng, ("cancel the timer", "how much time is left on the timer", "stop the timer"))

    def _alarm(self, rng) -> str:
        kind = int(rng.integers(3))
        if kind == 0:
            return f"set an alarm for {self._time(rng)}"
        if kind == 1:
            return f"wake me up at {self._time(rng)} {self._day(rng)}"
        return self._pick(rng, ("turn off the alarm", "snooze the alarm", "cancel my alarm for tomorrow"))

    def _call(self, rng) -> str:
        who = self._pick(rng, CONTACTS)
        kind = int(rng.integers(4))
        if kind == 0:
            return f"call {who} at {self._time(rng)}"
        if kind == 1:
            return f"call {who} {self._day(rng)}"
        if kind == 2:
            return f"send a message to {who}"
        return f"text {who} " + self._pick(rng, ("i'm on my way", "i'll be late", "see you soon", "call me back"))

    def _music(self, rng) -> str:
        kind = int(rng.integers(3))
        if kind == 0:
            return self._pick(rng, ("play the next song", "play the previous song", "pause the music",
                                    "skip this song", "stop the music", "resume playing"))
        if kind == 1:
            return f"play {self._pick(rng, GENRES)} {self._pick(rng, MEDIA)}" + \
                self._pick(rng, ("", f" in the {self._pick(rng, ROOMS)}"))
        return f"play my {self._pick(rng, ('favorite', 'morning', 'workout', 'party'))} playlist"

    def _volume(self, rng) -> str:
        if rng.uniform() < 0.5:
            return f"turn the volume {self._pick(rng, ('up', 'down'))}"
        return f"set the volume to {number_words(int(rng.integers(1, 11)))}"

    def _reminder(self, rng) -> str:
        task = self._pick(rng, TASKS)
        if rng.uniform() < 0.5:
            return f"remind me to {task} on {self._date(rng)}"
        return f"remind me to {task} at {self._time(rng)}"

    def _calendar(self, rng) -> str:
        kind = int(rng.integers(3))
        if kind == 0:
            return f"what's on my calendar {self._day(rng)}"
        if kind == 1:
            return f"schedule a meeting with {self._pick(rng, CONTACTS)} on {self._date(rng)}"
        return f"how many days until {self._date(rng)}"

    def _weather(self, rng) -> str:
        if rng.uniform() < 0.5:
            return f"what's the weather {self._day(rng)}"
        return f"will it rain in {self._pick(rng, CITIES)} {self._day(rng)}"

    def _shopping(self, rng) -> str:
        return f"add {self._pick(rng, ITEMS)} to my shopping list"

    def _thermostat(self, rng) -> str:
        if rng.uniform() < 0.6:
            return f"set the thermostat to {number_words(int(rng.integers(60, 81)))} degrees"
        return f"make it {self._pick(rng, ('warmer', 'cooler'))} in the {self._pick(rng, ROOMS)}"

    def _question(self, rng) -> str:
        return self._pick(rng, ("what time is it", "what's the date today", "what day is it today",
                                f"what's the time in {self._pick(rng, CITIES)}", "tell me a joke",
                                "how are you today"))
