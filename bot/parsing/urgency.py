"""Is life or property in danger right now?

Recall matters most (a missed gas leak is far worse than an extra ping), so triggers
are broad; precision comes from cancelling cues: negation right before a trigger
("没有煤气味"), hedges ("万一着火"), past time ("昨天着火"), and resolution anywhere
in the message ("已经修好了", "虚惊一场").
"""

from __future__ import annotations

import re

# Clause boundaries: hedges and negations only reach the trigger in their own clause.
_CLAUSE_RE = re.compile(r"[,.;!?。、；…~\n]|\s{2,}")

_SENIOR = (
    r"(?:老人|老太太|老太|老大爷|大爷|奶奶|爷爷|姥姥|姥爷|外婆|外公|婆婆|老母亲|老父亲|我妈|我爸"
    r"|老妈|老爸|母亲|父亲|老头|老伴|独居|一个人住|孤寡|阿尔茨海默|痴呆|老年人|阿姨|大妈|老两口"
    r"|阿婆|阿公|阿伯|老人家|长者|阿妈|阿爸)"
)

# Each trigger alone means danger now (subject to the cancelling cues below).
_TRIGGERS = re.compile(
    "|".join(
        (
            # gas
            r"(?:煤气|燃气|天然气|液化气|瓦斯)[^。!?]{0,12}?"
            r"(?:味|泄漏|泄露|漏了|嘶嘶|咝咝|呲呲|冒气|断了|破了)",
            r"漏气|臭鸡蛋味|(?:嘶嘶|咝咝)[^。!?]{0,12}味",
            r"一氧化碳(?!报警|探测)|煤气中毒|中毒",
            r"(?:燃气|煤气|天然气|一氧化碳|热水器|排烟|炉子|报警器)[^。!?]{0,20}"
            r"(?:头晕|头疼|头痛|恶心|想吐|晕乎)",
            # fire and smoke
            r"着火|起火|失火|火灾|烧起来|着起来|烧着了|(?<!灶)火苗|火星|火花|火光|明火|冒火",
            r"有烟(?![头蒂灰瘾酒囱花草])",
            r"(?<![抽吸香])烟(?:很大|好大|越来越大|冒出来|往外冒|往上冒|呛人)",
            r"(?:哪家|谁家|什么东西|哪里|隔壁|楼上|楼下|对门)[^。!?]{0,3}着了|烧(?:橡胶|塑料|电线|胶皮)",
            r"冒烟|冒黑烟|浓烟|黑烟|烟雾弥漫|(?:满屋子?|全是|都是)烟(?![头蒂灰])|进烟",
            r"烧焦|焦糊|焦味|糊味|烧塑料|胶皮味",
            r"(?:电池|电瓶|电线|电动车|插座|插头)[^。!?]{0,4}着了",
            r"爆炸|炸了|(?<!\d)119(?![\d平元块米斤万号])",
            # water
            r"(?:水管|管子|管道|水箱|暖气管|暖气片|水龙头)[^。!?]{0,8}(?:爆|崩|裂开)|爆管",
            r"(?:流到|流进|灌进|涌进)(?:了)?(?:客厅|卧室|屋里|家里|电梯)",
            r"水漫|漫到|漫进|淹了|被淹|全淹|淹到|进水了|往上涨|一地水|一层水|呲水|喷水|往外喷|往下淌"
            r"|哗哗地?(?:往|流|淌|喷|冒)",
            # electricity
            r"漏电|触电|被电|电到人|麻手|滋滋",
            r"(?:电线|电缆|线)[^。!?]{0,6}"
            r"(?:断了|掉在地|掉地|掉下来|搭在|耷拉|垂(?:到|了|下)|挨着地|落地|泡在水)",
            r"(?:电线|电缆|电箱|配电)[^。!?]{0,20}(?:别碰|别靠近|离远点)",
            # people hurt or collapsed
            r"摔倒|跌倒|晕倒|昏倒|晕过去|昏过去|昏迷|叫不醒|叫不应|叫不太醒|不省人事|倒地|摔下楼|滚下楼"
            r"|昏昏沉沉|意识模糊|神志不清|站不住|浑身发抖|冒冷汗|出冷汗|噎住|卡住喉咙"
            r"|一动不动|躺[了着]?在?地[上下]|倒在地上|叫也不应|叫都不应|喊也不应|翻白眼|眼睛往上翻|抽抽",
            r"全是血|满是血|一身血|血止不住|止不住血|血流不止",
            r"喉咙(?:发紧|肿)|脸肿|嘴唇肿|过敏性休克|呼吸困难",
            r"(?:烧到|发烧|高烧)[^。!?]{0,4}4[0-2](?:度|\.)",
            r"(?<![圾树枝杆牌])倒在(?!哪)|抽搐|喘不上气|喘不过气|胸口疼|胸口痛|胸口剧痛|心脏病犯|心梗",
            r"嘴唇发紫|流了好多血|流血|大出血|烫伤|烧伤|骨折|撞伤|把人撞|急救",
            r"(?:人|老人|孩子|小孩|他|她)被车撞",
            r"救护车(?!都?进不来|也进不来|开不进)|(?<!\d)120(?![\d平元块米斤万号])",
            r"救命|快来人|快来救",
            # violence
            r"拿着?刀|持刀|动刀|砍人|捅人|见血|砸人",
            # falling from height, collapsing ground, right now
            # (heavy things only: flaking plaster is a repair, not an emergency)
            r"(?:砖|水泥|混凝土|石头|石块|玻璃|花盆|广告牌|招牌|防盗窗|外机|钢筋)[^。!?]{0,10}"
            r"(?:往下掉|掉下来|掉下去|砸下来|坠落)|(?:往下掉|掉下来)[^。!?]{0,2}(?:砖|水泥|石|玻璃)"
            r"|(?:马上|随时|快要|就要)[^。!?]{0,6}(?:掉下|砸下|塌|倒下)|刚砸|往下陷"
            r"|(?:晃|摇|松了|松动|断了)[^。!?]{0,12}(?:下面|底下)就?(?:是|有|站着|走着)[^。!?]{0,6}"
            r"(?:人|学生|孩子|小孩|幼儿园|学校|行人)",
            r"往外爬|扒着窗|爬出窗|地震|楼在晃|房子在晃",
            # threats to one's own life
            r"想不开|要跳楼|想跳楼|跳楼|轻生|自杀|不想活",
            r"(?:人|孩子|小孩|老人|车)[^。!?]{0,8}(?:掉下去|掉进去|掉进|陷进)",
            r"(?:孩子|小孩|小朋友|宝宝)[^。!?]{0,16}(?:窗台|窗外|阳台外|栏杆|护栏|楼顶)",
            # lift
            r"困在电梯|电梯里困|被困(?!扰)|困着|困人|关在电梯|卡在电梯"
            r"|电梯[^。!?]{0,12}?(?:卡住|卡在|往下掉|掉下去|困|里面有)|楼和\d+楼(?:中间|之间)",
            r"电梯[^。!?]{0,20}?(?:关在|困在|出不来|在里面)|(?:关在|困在)电梯",
            # stroke signs, poisoning, an overdose
            r"嘴歪|嘴巴歪|口歪|口眼歪斜"
            r"|突然[^。!?]{0,6}(?:说不出话|[说讲]话不清|[说讲]话不利索|口齿不清|手脚发麻|半边|动不了|看不见)",
            r"吃错药|误服|误食|药吃多了|多吃了[^。!?]{0,8}药|喝了农药|喝了[^。!?]{0,6}(?:消毒液|洗涤剂|84)",
            r"(?:孩子|小孩|宝宝|娃|儿子|女儿|孙子|孙女)[^。!?]{0,12}(?:吃了|吞了|喝了|咽了)[^。!?]{0,10}"
            r"(?:药|电池|纽扣|硬币|磁铁|洗衣|消毒|清洁剂)"
            r"|(?:孩子|小孩|宝宝|娃|儿子|女儿|孙子|孙女)把[^。!?]{0,10}"
            r"(?:药|电池|纽扣|硬币|磁铁|洗衣液|消毒液|清洁剂)[^。!?]{0,4}(?:吃了|吞了|喝了|咽了)",
            r"(?:一整板|整板|一整瓶|整瓶|一大把|好几片)[^。!?]{0,8}(?:药|片|维生素|胶囊|吃了|吞了)",
            # an alarm going off
            r"(?:燃气|煤气|天然气|可燃气体|一氧化碳)报警器?[^。!?]{0,10}(?:响|叫|报警|在鸣)|臭鸡蛋",
            # water running through lights and sockets; someone locked in
            r"(?:灯|吊灯|顶灯|灯座|灯罩|插座|电箱|电表)[^。!?]{0,8}(?:往下流|往下滴|流水|滴水|进水|冒水)"
            r"|水从[^。!?]{0,12}往下(?:流|滴|淌)|(?:渗|漏|滴|流)到[^。!?]{0,6}(?:电箱|电表|插座|灯)",
            r"水越来越(?:深|多|大)|水位越来越高|(?:进|入)了水",
            # heat stroke; a child shut in alone
            r"中暑|热射病",
            r"(?:孩子|小孩|小朋友|宝宝)[^。!?]{0,8}(?:锁在|关在|困在)",
            r"(?:车里|车内)[^。!?]{0,6}(?:锁着|关着|困着|留着)[^。!?]{0,6}(?:孩子|小孩|宝宝|狗)",
            # (a lost child, not a child's lost things: "孩子的疫苗本丢了")
            r"(?:孩子|小孩|儿子|女儿|宝宝|孙子|孙女)[^。!?的]{0,24}(?:找不到了|找不着了|不见了|走丢)",
            r"烟[^。!?]{0,4}(?:涌|灌|冒)(?:上来|进来)",
            r"(?:开关|面板|插座|电箱|电表)[^。!?]{0,8}(?:渗水|往外渗|进水|漏水|滴水|流水)"
            r"|(?:滴水|渗水|漏水|进水)[^。!?]{0,16}(?:灯|电)[^。!?]{0,4}(?:闪|冒火)",
            r"(?:锁|关|困)在[^。!?]{0,4}(?:阳台|车里|屋里|房间|卫生间|厕所)[^。!?]{0,8}出不来|反锁在",
            # medical equipment without power
            r"(?:制氧机|呼吸机)[^。!?]{0,20}(?:停电|没电|撑不)",
            r"(?:停电|没电)[^。!?]{0,20}(?:制氧机|呼吸机)",
        )
    )
)

# Said of a person these are emergencies, said of a thing ("车动不了", "暖气不行了")
# they are not: they need a person in the text.
_PERSON_STATE = re.compile(r"起不来|动不了|不动了|不行了|摔了|剧痛|晕了")
_PERSON_RE = re.compile(
    _SENIOR[:-1] + r"|孩子|小孩|老公|老婆|爱人|儿子|女儿|邻居|大哥|大姐|小伙|姑娘|有人|个人|他|她)"
)

# Someone vulnerable cannot be reached or has not come back: needs a senior in the text,
# because "打电话也不接" about a parked car is not an emergency.
_MISSING = re.compile(
    r"联系不上|打不通|没人接|不接电话|没人应|没动静|没开门|没见[她他]?出门|走失|走丢|没回来|失联"
    r"|关机|找不到人|人不见了|没影了|找不着了|不接|没接|没人开|没拿|没取|没露面|没见人|没下楼"
    r"|没见着|没见到|没人听|没回电话|不回电话|没回复"
)
_SENIOR_RE = re.compile(_SENIOR)

# Directly before a trigger: "没有煤气味", "不是着火", "打不着火".
_NEGATION_BEFORE = re.compile(r"(?:没有|没|不是|不|无|未|并非|别|防)[^,]{0,2}$")
# A past time, unless it is where something still going on began ("从昨晚到现在").
_SINCE = r"(?!(?:晚上|夜里)?(?:到现在|到今天|开始|起|就一直|一直))"
# In the same clause up to the trigger's end: hypothetical, prevention, past events.
_HEDGE_BEFORE = re.compile(
    r"万一|如果|要是|假如|(?<![害好])怕|担心|会不会|以防|防止|预防|防范|演练|隐患|差点|险些|容易"
    r"|小心|注意|提醒|知识|培训|讲座|上次|上周|上个月|之前|以前|去年|曾经"
    rf"|(?:昨天|昨儿|昨晚|前天|前两天|前几天){_SINCE}|哪天|早晚|迟早|学(?=急救|心肺|消防|灭火)"
)
_PAST_AFTER = re.compile(r"过(?!来|去)")
# Right after a trigger: training, knowledge and equipment ("急救培训", "火灾演练").
_HEDGE_AFTER = re.compile(
    r"[^,]{0,4}(?:培训|知识|讲座|演练|常识|课|设备|箱|包|器|通道|预案|隐患|风险)"
)
# Anywhere in the message: the danger is over, or it is a notice/joke, not a report.
_RESOLVED = re.compile(
    r"虚惊一场|没事了|没大事|没什么事|没有了|没了味|已经(?:修好|解决|处理|灭|扑灭|救出|出来|联系上|找到"
    r"|恢复|好了|来电|来水|散了|没事|停了)|修好了|解决了|处理完|处理好了|扑灭|灭了火|火灭了|救出来"
    r"|联系上了|找到了|回来了|出院|不用来了|不用担心|不急|放心|转发|温馨提示|哈哈|笑死|就没了"
    r"|正常吗|正不正常|幸亏|好在|还好没|看新闻|新闻说|新闻里|自己好了|人出来了|都出来了|拉走了"
    r"|送医院了|送去医院了|误会|误报|搞错了|说没事|劝下来|被劝下|救下来了"
)


def _clause_start(text: str, index: int) -> int:
    start = 0
    for boundary in _CLAUSE_RE.finditer(text, 0, index):
        start = boundary.end()
    return start


def _cancelled(text: str, start: int, end: int) -> bool:
    clause_start = _clause_start(text, start)
    if _NEGATION_BEFORE.search(text, clause_start, start):
        return True
    if _HEDGE_BEFORE.search(text, clause_start, end):
        return True
    # "冒过火花", "困过人": the aspect marker 过 means it happened before, not now.
    if start > 0 and text[start - 1] == "过":
        return True
    return bool(_PAST_AFTER.match(text, end) or _HEDGE_AFTER.match(text, end))


def is_urgent(text: str) -> bool:
    """True when ``text`` (already normalised) reports danger happening now."""
    if _RESOLVED.search(text):
        return False
    for match in _TRIGGERS.finditer(text):
        if not _cancelled(text, match.start(), match.end()):
            return True
    if _PERSON_RE.search(text):
        for match in _PERSON_STATE.finditer(text):
            if not _cancelled(text, match.start(), match.end()):
                return True
    if _SENIOR_RE.search(text):
        for match in _MISSING.finditer(text):
            if not _cancelled(text, match.start(), match.end()):
                return True
    return False
