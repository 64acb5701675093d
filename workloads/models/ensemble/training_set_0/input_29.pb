B$member1/decoder/layer0/gconv_ru/biasJ@EçÐ=3|ž½µ=0¶¾=Þ]µ=“â»=”É=EuÉ¼Vö=Ú›=º·¤=Ð>
>Lž<J['¼ÌÞÌ=