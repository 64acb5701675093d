B(new/member0/encoder/layer0/gconv_ru/biasJ@п·╬чЪ =Пcп╪╟[╫)%╣=Nr=>■И,╫?:Б=Ю╟⌡=c-╫ща
=j3|╫/eъ=q%ъ╫Д╒╔╫