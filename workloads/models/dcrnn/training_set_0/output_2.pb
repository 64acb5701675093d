B!grad/encoder/layer0/gconv_ru/biasJ@;šß·—pr¶ãë8œƒ7×M7¼vø¶ßÍ¶à007Ì<{7aî
8(:Ö7»ï7+>z¸c¥{6‘¬W·jà¶