"""Text clean-up before matching: width, script, case, emoji, control characters.

Everything downstream (keywords, address, urgency) sees only the normalised form, so
keyword tables are written once in simplified Chinese with ASCII digits.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import opencc

# Residents paste whole articles; nothing useful for routing lives past the first
# few hundred characters, and capping here bounds the cost of every later step.
MAX_INPUT_CHARS = 400

# Invisible and control characters become spaces so they cannot glue words together
# or hide inside keywords.
_CONTROL = {
    cp: " "
    for cp in (
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        *range(0x200B, 0x2010),
        *range(0x2028, 0x202F),
        *range(0x2060, 0x2070),
        0xFEFF,
        0x00AD,
    )
}


@functools.cache
def _to_simplified() -> opencc.OpenCC:
    # Relatives in Hong Kong or Taiwan and phones set to traditional input write 樓, 電, 轉發…
    # OpenCC knows every character (and phrase), where a hand-made table knew a few hundred.
    return opencc.OpenCC("t2s")


# A few emoji carry meaning for routing; the rest are noise.
_EMOJI_MEANING = {
    "😂": "哈哈",
    "🤣": "哈哈",
    "😄": "哈哈",
    "😁": "哈哈",
    "👍": "赞",
    "👏": "赞",
    "🌹": "赞",
    "🎉": "恭喜",
    "🧧": "恭喜",
    "🆘": "救命",
}
_EMOJI_RE = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U00002b00-\U00002bff"
    "\U0000fe00-\U0000fe0f\U0001f1e6-\U0001f1ff\u2190-\u21ff\u2300-\u23ff\u3030\u303d]"
)
_EMOJI_MAP_RE = re.compile("|".join(map(re.escape, _EMOJI_MEANING)))

# Mixed English: common words residents drop into Chinese messages, and whole English
# messages from foreign residents. Mapped to the Chinese keyword they stand for.
_ENGLISH = {
    "pls": "请",
    "plz": "请",
    "please": "请",
    "lift": "电梯",
    "elevator": "电梯",
    "wifi": "wifi",
    "gas": "燃气",
    "smell": "味",
    "smells": "味",
    "leak": "漏水",
    "leaking": "漏水",
    "leaks": "漏水",
    "fire": "着火",
    "smoke": "冒烟",
    "broken": "坏了",
    "fix": "修一下",
    "repair": "修一下",
    "light": "灯",
    "lights": "灯",
    "water": "水",
    "power": "电",
    "heating": "暖气",
    "noise": "噪音",
    "noisy": "太吵",
    "parking": "停车",
    "garbage": "垃圾",
    "rubbish": "垃圾",
    "trash": "垃圾",
    "doctor": "医生",
    "vaccine": "疫苗",
    "job": "找工作",
    "thanks": "谢谢",
    "thank": "谢谢",
    "thx": "谢谢",
    "ty": "谢谢",
    "ok": "好的",
    "okay": "好的",
    "lol": "哈哈",
    "haha": "哈哈",
    "hello": "你好",
    "hi": "你好",
    "help": "帮忙",
    "urgent": "紧急",
    "trapped": "被困",
    "stuck": "卡住",
    "ceiling": "天花板",
    "toilet": "马桶",
    "pipe": "水管",
    "burst": "爆了",
    "everyone": "大家",
    "nice": "真好",
    "meet": "见",
    # phrases first: the longest alternative wins at each position
    "doesn't work": "不好使",
    "not working": "不好使",
    "smell gas": "燃气味",
    "smell of gas": "燃气味",
    "smells like gas": "燃气味",
    "gas smell": "燃气味",
    "stuck in the elevator": "困在电梯",
    "stuck in the lift": "困在电梯",
    "trapped in the elevator": "困在电梯",
    "trapped in the lift": "困在电梯",
    "grinding": "异响",
    "smoke alarm": "烟感报警器",
    "read about": "看新闻",
    "in the news": "新闻里",
    "it's out now": "已经灭了",
    "if": "如果",
    "hasn't opened": "没开门",
    "not opened": "没开门",
    "dementia": "痴呆",
    "still not back": "没回来",
    "not back": "没回来",
    "hasn't come back": "没回来",
    "gushing": "喷水",
    "missing": "不见了",
    "end it all": "不想活",
    "suicide": "自杀",
    "wants to jump": "要跳楼",
    "throat feels tight": "喉咙发紧",
    "throat is tight": "喉咙发紧",
    "swelling up": "脸肿",
    "face is swelling": "脸肿",
    "chest pain": "胸口疼",
    "numb": "发麻",
    "not breathing": "喘不上气",
    "can't breathe": "喘不上气",
    "choking": "噎住",
    "seizure": "抽搐",
    "swallowed": "吞了",
    "magnet": "磁铁",
    "knife": "持刀",
    "sparking": "火花",
    "spark": "火花",
    "power line": "电线",
    "falling off": "正在往下掉",
    "are falling": "正在往下掉",
    "is falling": "正在往下掉",
    "falling": "往下掉",
    "right now": "正在",
    "battery": "电池",
    "batteries": "电池",
    "coin": "硬币",
    "pills": "药",
    "concrete": "水泥",
    "bricks": "砖",
    "brick": "砖",
    "glass": "玻璃",
    "kid": "小孩",
    "kids": "小孩",
    "child": "孩子",
    "my son": "儿子",
    "my daughter": "女儿",
    "balcony railing": "栏杆",
    "railing": "栏杆",
    "window ledge": "窗台",
    "fire risk": "火灾隐患",
    "risk": "隐患",
    "heat stroke": "中暑",
    "heatstroke": "中暑",
    "vomiting": "呕吐",
    "unresponsive": "叫不醒",
    "not responding": "叫不醒",
    "barely responding": "叫不醒",
    "proof of address": "住址证明",
    "proof of residence": "居住证明",
    "drill": "演练",
    "last week": "上周",
    "yesterday": "昨天",
    "power cut": "停电",
    "power is out": "停电",
    "power's out": "停电",
    "oxygen machine": "制氧机",
    "oxygen concentrator": "制氧机",
    "power outage": "停电",
    "outage": "停电",
    "blackout": "停电",
    "no water": "停水",
    "no power": "停电",
    "water pressure": "水压",
    "radiator": "暖气片",
    "heating fee": "暖气费",
    "water bill": "水费",
    "electricity bill": "电费",
    "electricity": "电",
    "certificate": "证明",
    "registration": "登记",
    "register": "登记",
    "residence permit": "居住证",
    "hukou": "户口",
    "id card": "身份证",
    "passport": "证件",
    "pension": "养老金",
    "insurance": "医保",
    "vaccination": "疫苗",
    "vaccinated": "疫苗",
    "flu shot": "流感疫苗",
    "blood pressure": "血压",
    "checkup": "体检",
    "clinic": "诊所",
    "medicine": "药",
    "sick": "生病",
    "stroke": "中风",
    "lives alone": "独居",
    "living alone": "独居",
    "elderly": "老人",
    "old man": "老大爷",
    "old lady": "老太太",
    "old woman": "老太太",
    "my dad": "我爸",
    "my father": "我爸",
    "my mom": "我妈",
    "my mum": "我妈",
    "my mother": "我妈",
    "grandma": "奶奶",
    "grandpa": "爷爷",
    "check on": "上门看看",
    "wheelchair": "轮椅",
    "disabled": "残疾",
    "hasn't answered": "不接电话",
    "doesn't answer": "不接电话",
    "not answering": "不接电话",
    "no answer": "没人应",
    "haven't seen": "没见着",
    "hasn't been seen": "没见着",
    "fell": "摔倒",
    "fallen": "摔倒",
    "collapsed": "晕倒",
    "unconscious": "昏迷",
    "bleeding": "流血",
    "ambulance": "救护车",
    "flooding": "水漫",
    "flooded": "淹了",
    "sparks": "火花",
    "wires": "电线",
    "wire": "电线",
    "manhole": "井盖",
    "dirty": "脏",
    "cockroaches": "蟑螂",
    "cockroach": "蟑螂",
    "rats": "老鼠",
    "mice": "老鼠",
    "stinks": "臭",
    "smelly": "臭",
    "unemployed": "失业",
    "hiring": "招聘",
    "training": "培训",
    "loud": "声音大",
    "music": "音乐",
    "upstairs": "楼上",
    "neighbour": "邻居",
    "neighbor": "邻居",
    "neighbours": "邻居",
    "neighbors": "邻居",
    "barking": "狗叫",
    "park": "停车",
    "parked": "停车",
    "visitor": "访客车",
    "car": "车",
    "bike": "自行车",
    "e-bike": "电动车",
    "ebike": "电动车",
    "scooter": "电动车",
    "charging": "充电",
    "activity room": "活动室",
    "class": "课",
    "classes": "课",
    "course": "课程",
    "yoga": "瑜伽",
    "dance": "跳舞",
    "choir": "合唱",
    "borrow": "借",
    "event": "活动",
    "events": "活动",
    "suggest": "建议",
    "suggestion": "建议",
    "can someone": "能不能",
    "could someone": "能不能",
    "could you": "能不能",
    "can you": "能不能",
    "how do i": "怎么",
    "how can i": "怎么",
    "where": "在哪",
    "good morning": "早上好",
    "good night": "晚安",
    "congrats": "恭喜",
    "congratulations": "恭喜",
}
_ENGLISH_RE = re.compile(r"\b(" + "|".join(sorted(_ENGLISH, key=len, reverse=True)) + r")\b")
# "building 9", "unit 2", "room 302" -> Chinese address markers the address parser knows.
_EN_ADDRESS_RE = re.compile(r"\b(building|bldg|block|unit|room|apt|flat)\.?\s*#?\s*(\d{1,4})\b")
_EN_ADDRESS_MARK = {
    "building": "{}号楼",
    "bldg": "{}号楼",
    "block": "{}号楼",
    "unit": "{}单元",
    "room": "{}室",
    "apt": "{}室",
    "flat": "{}室",
}
# Cantonese words residents in the south type, as the Mandarin the keyword tables know.
_CANTONESE = {
    "唔该": "麻烦",
    "火烛": "着火",
    "跌亲": "摔倒",
    "起不到身": "起不来",
    "瞓": "躺",
    "升降机": "电梯",
    "跌低": "摔倒",
    "唔郁": "不动",
    "冧": "塌",
    "点解": "为什么",
    "边度": "哪里",
    "而家": "现在",
    "隔篱": "隔壁",
    "冇": "没",
    "嘅": "的",
    "咗": "了",
    "啲": "些",
    "嚟": "来",
    "佢": "他",
    "喺": "在",
    "睇": "看",
    "揾": "找",
    "咩": "什么",
    "唔": "不",
}
_CANTONESE_RE = re.compile("|".join(sorted(_CANTONESE, key=len, reverse=True)))
_SPACES_RE = re.compile(r"\s+")
_HAS_ASCII_LETTER_RE = re.compile(r"[a-z]")


def _english_address(match: re.Match[str]) -> str:
    return " " + _EN_ADDRESS_MARK[match.group(1)].format(match.group(2)) + " "


def _english_word(match: re.Match[str]) -> str:
    return " " + _ENGLISH[match.group(1)] + " "


def normalize(text: str) -> str:
    """Return a canonical form of ``text`` for matching (never raises on str input)."""
    text = text[:MAX_INPUT_CHARS]
    # NFKC folds full-width digits/letters/punctuation (３０１ -> 301, ！ -> !).
    text = unicodedata.normalize("NFKC", text).translate(_CONTROL).lower().replace("\u2019", "'")
    if not text.isascii():
        text = _to_simplified().convert(text)
        text = _CANTONESE_RE.sub(lambda m: _CANTONESE[m.group(0)], text)
    if _EMOJI_MAP_RE.search(text):
        text = _EMOJI_MAP_RE.sub(lambda m: _EMOJI_MEANING[m.group(0)], text)
    text = _EMOJI_RE.sub(" ", text)
    if _HAS_ASCII_LETTER_RE.search(text):
        text = _EN_ADDRESS_RE.sub(_english_address, text)
        text = _ENGLISH_RE.sub(_english_word, text)
    return _SPACES_RE.sub(" ", text).strip()
