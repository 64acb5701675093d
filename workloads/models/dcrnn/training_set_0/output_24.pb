B new/encoder/layer1/gconv_ru/biasJ@ÝŠµ»÷¦Ý=œ(•½¶„ù;8<ânt=Ù±=o™=¨=Ô
<–<BÀ½‹§½Î¾×¼@­^½½