B(grad/member1/encoder/layer0/gconv_c/biasJ E´×8¾i
»7º©ôº*¾-»wÜ>ºêwbºš;