B(new/member1/decoder/layer0/gconv_ru/biasJ@á˜Ñ=I¨Ÿ½ÿ
=¾=neµ=Rº=0È=ÒÀÈ¼±C=¼íŸ=!Š¥=T>â>»g›<Y-¼´-Î=