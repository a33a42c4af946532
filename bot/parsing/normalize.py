"""Text clean-up before matching: width, script, case, emoji, control characters.

Everything downstream (keywords, address, urgency) sees only the normalised form, so
keyword tables are written once in simplified Chinese with ASCII digits.
"""

from __future__ import annotations

import re
import unicodedata

# Residents paste whole articles; nothing useful for routing lives past the first
# few hundred characters, and capping here bounds the cost of every later step.
MAX_INPUT_CHARS = 400

# Traditional -> simplified for the characters residents actually use in requests
# (Hong Kong / Taiwan relatives, phones set to traditional input): traditional
# character followed by its simplified form.
_TRAD_SIMP = (
    "樓楼號号單单電电燈灯壞坏氣气熱热還还區区門门車车錢钱證证辦办醫医療疗衛卫護护報报這这麼么嗎吗裡里"
    "裏里們们個个來来時时間间問问題题說说請请謝谢沒没關关開开燒烧煙烟著着幫帮廁厕髒脏環环險险隱隐災灾"
    "鄰邻聲声輛辆應应該该讓让給给壓压費费繳缴實实變变嚴严頭头藥药發发歲岁養养獨独殘残業业職职訓训練练"
    "動动體体書书學学課课師师習习參参館馆觀观歡欢樂乐馬马廚厨層层戶户陽阳臺台檯台櫃柜鐵铁線线絲丝網网"
    "塊块牆墙漲涨溼湿濕湿滅灭燙烫涼凉凍冻暫暂過过進进運运遞递邊边錯错鑰钥鎖锁長长隊队陰阴難难雞鸡貓猫"
    "鴿鸽蟲虫蒼苍蠅蝇糞粪處处園园場场夠够將将對对屬属媽妈爺爷兒儿孫孙婦妇嬰婴寶宝導导幾几廣广庫库強强"
    "從从後后復复態态慶庆擾扰據据擠挤擋挡換换撥拨數数斷断於于無无會会東东條条極极棟栋樣样檢检歷历況况"
    "淨净準准溫温滿满潔洁為为煩烦爭争狀状現现產产畫画當当盡尽監监盤盘碼码礙碍禮礼種种穩稳筆笔節节範范"
    "簽签糧粮紀纪約约紅红級级紙纸組组結结絕绝統统經经維维綠绿緊紧總总繼继續续罰罚聯联聽听腦脑腳脚臥卧"
    "興兴舊旧華华萬万葉叶薦荐補补裝装製制複复覺觉親亲計计訂订記记許许設设診诊試试話话認认語语誤误調调"
    "談谈諮咨講讲識识讀读貨货買买資资賣卖質质購购趕赶輪轮輔辅鄉乡針针鐘钟閉闭閒闲閘闸閥阀陣阵際际隻只"
    "雙双雜杂雲云靜静響响頂顶項项順顺預预領领額额顧顾顯显風风飛飞飯饭騷骚驗验鬧闹點点齊齐齡龄龍龙傷伤"
    "殺杀螞蚂蟻蚁廢废攤摊癱瘫瘓痪膩腻緩缓懸悬墜坠灘滩濫滥攔拦欄栏圍围籬篱腫肿瘡疮癢痒壺壶鍋锅爐炉寬宽"
    "聞闻嗆呛嚇吓驚惊鬆松壽寿亂乱戲戏劇剧團团舉举飲饮貼贴減减淚泪嗚呜傳传訊讯係系賬账帳账務务雖虽麥麦"
    "麵面髮发鬥斗儘尽嘮唠搗捣軋轧寫写隨随縣县鎮镇韓韩國国紐纽賺赚員员圖图測测壇坛氫氢瑩莹誰谁衝冲鑽钻"
    "灑洒擺摆攝摄臘腊櫻樱癡痴麗丽豬猪魚鱼鳥鸟蝦虾滾滚蓋盖離离飄飘纜缆閃闪機机鍵键鈕钮銷销鏡镜錶表錄录"
    "鋪铺階阶陸陆盜盗賊贼視视儲储備备搶抢劃划擁拥廳厅廂厢貴贵睏困屍尸遲迟遺遗選选擔担憂忧懼惧鏈链濾滤"
    "舖铺蓮莲黃黄澆浇嬤嬷嫗妪顆颗灣湾攜携擊击鋼钢廠厂絡络緒绪價价貸贷賠赔償偿損损剛刚啟启闖闯嘩哗噹当"
    "鐺铛墊垫偵侦憑凭遙遥揚扬揮挥歸归噁恶惡恶嘔呕亞亚勞劳濟济農农貧贫窮穷殯殡喪丧撫抚卹恤趙赵張张劉刘"
    "陳陈楊杨吳吴鄭郑冊册"
)

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
_TABLE: dict[int, str] = {
    **_CONTROL,
    **{ord(_TRAD_SIMP[i]): _TRAD_SIMP[i + 1] for i in range(0, len(_TRAD_SIMP), 2)},
}

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
    text = unicodedata.normalize("NFKC", text).translate(_TABLE).lower()
    if _EMOJI_MAP_RE.search(text):
        text = _EMOJI_MAP_RE.sub(lambda m: _EMOJI_MEANING[m.group(0)], text)
    text = _EMOJI_RE.sub(" ", text)
    if _HAS_ASCII_LETTER_RE.search(text):
        text = _EN_ADDRESS_RE.sub(_english_address, text)
        text = _ENGLISH_RE.sub(_english_word, text)
    return _SPACES_RE.sub(" ", text).strip()
