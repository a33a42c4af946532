"""Building / unit / room extraction from normalised text.

Residents write addresses in many shapes: "3号楼2单元501", "六号楼四单元501",
"501，3单元，7号楼", "3-2-501", "7#楼", "12栋", "第九栋", "十八栋二单元三零二",
or a local name from the community config ("老干部楼"). "N楼" on its own is a floor,
never a building.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGITS.update({"五": 5, "六": 6, "七": 7, "八": 8, "九": 9})
_CN_NUM = "[零〇一二两三四五六七八九十百]{1,5}"
_NUM = rf"(\d{{1,3}}|{_CN_NUM})"


def cn_to_int(token: str) -> int | None:
    """Parse "21", "二十一", "十二", "一百零五" or digit-by-digit "三零二"."""
    if token.isdigit():
        return int(token)
    if not token:
        return None
    if "十" not in token and "百" not in token:
        # Digit by digit: "三零二" -> 302.
        value = 0
        for ch in token:
            digit = _CN_DIGITS.get(ch)
            if digit is None:
                return None
            value = value * 10 + digit
        return value
    total = 0
    pending = 0
    for ch in token:
        if ch == "百":
            total += (pending or 1) * 100
            pending = 0
        elif ch == "十":
            total += (pending or 1) * 10
            pending = 0
        else:
            digit = _CN_DIGITS.get(ch)
            if digit is None:
                return None
            pending = digit
    return total + pending


# "3-2-501" / "3-501" (building-unit-room / building-room); not part of a longer code
# such as a parking space "b2-056" or a phone number.
_DASHED3_RE = re.compile(r"(?<![0-9a-z\-])(\d{1,3})-(\d{1,2})-(\d{3,4})(?![0-9\-])")
_DASHED2_RE = re.compile(r"(?<![0-9a-z\-])(\d{1,3})-(\d{3,4})(?![0-9\-])")
# "8-1" (building-unit), only where nothing follows that makes it a range or a date:
# "3-5天", "8-9点" and "12-10号" are not addresses.
_DASHED_UNIT_RE = re.compile(
    r"(?<![0-9a-z\-.:/])(\d{1,3})-([1-9])(?![0-9\-.:/%]|\s*[天个点号月日岁年人次分秒元块斤度层楼米])"
)
_BUILDING_RE = re.compile(
    rf"(?<![0-9a-z])第?{_NUM}\s*(?:号楼|号院楼|#楼?|栋|幢|座|号?楼(?=\d{{1,2}}单元|\s*\d{{1,2}}门))"
)
_UNIT_RE = re.compile(rf"(?<![0-9a-z]){_NUM}\s*单元")
# Beijing style "3号楼2门501": a number + 门 right after the building is the unit.
_UNIT_GATE_RE = re.compile(r"(?:号楼|栋|幢)\s*(\d{1,2}|[一二三四五六七八九十]{1,2})\s*门")
# A room number with explicit context: after 单元/楼/栋, or followed by 室/房/号房.
_ROOM_CONTEXT_RE = re.compile(
    r"(?:单元|号楼|栋|幢|门)\s*(\d{3,4})(?!\d)|(?<!\d)(\d{3,4})\s*(?:室|房|号房)"
)
_ROOM_CN_RE = re.compile(
    r"(?<![零〇一二三四五六七八九十百])([一二三四五六七八九][零〇][一二三四五六七八九])"
    r"(?![零〇一二三四五六七八九十百千万年])"
)
# A bare 3-4 digit number that looks like a flat (floor 1-40, door 01-12) and is not a
# price, time, year, quantity or phone number.
_ROOM_BARE_RE = re.compile(
    r"(?<![\d.:¥$/a-z\-])(\d{3,4})(?![\d.:%/a-z\-]|\s*(?:号楼|栋|幢|单元|元|块|斤|度|年|月|日|号(?!房)"
    r"|点|分|米|个|万|千|岁|人|次|天(?!天)|小时|平|路|公里|毫|瓶|件|台|辆|楼|层|多|余|字|页|张|条|斤|克|g))"
)
_NOT_ROOMS = frozenset({"110", "119", "120", "122", "114", "315"})
_PRICE_BEFORE_RE = re.compile(r"(?:价|租|费|钱|花了|交了|电话|手机|号码|工号|卡号|尾号|共|第)\s*$")


@dataclass(frozen=True, slots=True)
class Address:
    building: str | None = None
    unit: str | None = None
    room: str | None = None


def _plausible_room(value: str) -> bool:
    number = int(value)
    floor, door = divmod(number, 100)
    return value not in _NOT_ROOMS and 1 <= floor <= 40 and 1 <= door <= 12


class AddressParser:
    """Extracts an :class:`Address`; aliases map local building names to numbers."""

    def __init__(self, building_aliases: Mapping[str, str] | None = None) -> None:
        aliases = {k: v for k, v in (building_aliases or {}).items() if k}
        self._aliases = aliases
        self._alias_re = (
            re.compile("|".join(re.escape(k) for k in sorted(aliases, key=len, reverse=True)))
            if aliases
            else None
        )

    def parse(self, text: str) -> Address:
        building: str | None = None
        unit: str | None = None
        room: str | None = None
        taken: list[tuple[int, int]] = []

        if self._alias_re is not None:
            alias = self._alias_re.search(text)
            if alias:
                building = self._aliases[alias.group(0)]
                taken.append(alias.span())

        dashed = _DASHED3_RE.search(text)
        if dashed:
            building = building or str(int(dashed.group(1)))
            unit = str(int(dashed.group(2)))
            room = dashed.group(3)
            taken.append(dashed.span())
        else:
            dashed = _DASHED2_RE.search(text)
            if dashed and _plausible_room(dashed.group(2)):
                building = building or str(int(dashed.group(1)))
                room = dashed.group(2)
                taken.append(dashed.span())
            elif dashed := _DASHED_UNIT_RE.search(text):
                building = building or str(int(dashed.group(1)))
                unit = str(int(dashed.group(2)))
                taken.append(dashed.span())

        if building is None:
            for match in _BUILDING_RE.finditer(text):
                if _overlaps(match.span(), taken):
                    continue
                value = cn_to_int(match.group(1))
                if value:
                    building = str(value)
                    taken.append(match.span())
                    break

        if unit is None:
            for match in _UNIT_RE.finditer(text):
                value = cn_to_int(match.group(1))
                if value and not _overlaps(match.span(), taken):
                    unit = str(value)
                    taken.append(match.span())
                    break
            else:
                gate = _UNIT_GATE_RE.search(text)
                if gate:
                    value = cn_to_int(gate.group(1))
                    unit = str(value) if value else None

        if room is None:
            room = self._room(text, taken)
        return Address(building, unit, room)

    @staticmethod
    def _room(text: str, taken: list[tuple[int, int]]) -> str | None:
        for match in _ROOM_CONTEXT_RE.finditer(text):
            value = match.group(1) or match.group(2)
            if value not in _NOT_ROOMS:
                return value
        for match in _ROOM_BARE_RE.finditer(text):
            value = match.group(1)
            if _overlaps(match.span(), taken) or not _plausible_room(value):
                continue
            if _PRICE_BEFORE_RE.search(text, 0, match.start()):
                continue
            return value
        cn = _ROOM_CN_RE.search(text)
        if cn:
            value = cn_to_int(cn.group(1))
            if value is not None and _plausible_room(str(value)):
                return str(value)
        return None


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    start, end = span
    return any(start < t_end and t_start < end for t_start, t_end in taken)
