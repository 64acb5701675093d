B'new/member0/encoder/layer0/gconv_c/biasJ cL–ΩP_ŒΩ∏ç=z{»<ù7>ÆË>‡å>
b Ω